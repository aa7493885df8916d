package broken_file

import rego.v1

# a missing closing brace below
violations contains msg if {
	msg := concat("", ["x", input.a)
}
