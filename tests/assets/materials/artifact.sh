#!/bin/sh
echo "payments-web 1.8.0"
