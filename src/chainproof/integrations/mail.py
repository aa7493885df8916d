"""Email kind: one message per event over SMTP (smtplib), STARTTLS optional."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chainproof.integrations import Event, Outcome


class EmailConfig(BaseModel):
    """The SMTP server and the addresses."""

    model_config = ConfigDict(extra="forbid")
    host: str = Field(description="SMTP server host name.")
    port: int = Field(587, ge=1, le=65535, description="SMTP server port.")
    starttls: bool = Field(True, description="Upgrade the connection with STARTTLS.")
    username: str | None = Field(None, description="Login name (the password is the secret).")
    sender: str = Field(description="The From address.")
    to: list[str] = Field(description="Recipients (comma-separated on the command line).")

    @field_validator("to", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class Email:
    name = "email"
    description = "Send each event by email over SMTP (STARTTLS optional)."
    config = EmailConfig
    stdin_help: str | None = "the SMTP password (when `username` is set)"

    def endpoints(self, config: BaseModel, secret: str | None) -> list[str]:
        assert isinstance(config, EmailConfig)
        return [f"smtp://{config.host}:{config.port}"]

    def deliver(
        self, config: BaseModel, secret: str | None, event: Event, timeout: float
    ) -> Outcome:
        assert isinstance(config, EmailConfig)
        message = EmailMessage()
        message["Subject"] = event.summary()[:200]
        message["From"] = config.sender
        message["To"] = ", ".join(config.to)
        message["Message-ID"] = f"<{event.id}@chainproof>"  # the idempotency key, for mail
        message.set_content(event.details() + f"\n\nevent: {event.type} {event.id}\n")
        try:
            with smtplib.SMTP(config.host, config.port, timeout=timeout) as smtp:
                if config.starttls:
                    smtp.starttls()
                if config.username:
                    smtp.login(config.username, secret or "")
                smtp.send_message(message)
        except smtplib.SMTPResponseException as err:
            return Outcome(False, err.smtp_code, f"SMTP {err.smtp_code}: {err.smtp_error!r}")
        return Outcome(True, 250)


KIND = Email()
