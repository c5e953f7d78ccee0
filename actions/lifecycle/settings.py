"""The scheduled guest messages' settings (``RSV_LIFECYCLE_*``), read by ``bot.root.settings``."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, model_validator

PROPERTIES_DIR = Path(__file__).resolve().parent / "properties"


class LifecycleSettings(BaseModel):
    directory: Path = Field(
        default=PROPERTIES_DIR,
        description="One YAML file per property: which messages it sends, when, and what "
        "they offer (docs/guest-messages.md). A property without a file sends none but the "
        "hold reminder.",
    )
    quiet_start: int = Field(
        default=21, ge=0, le=23, description="Hour (property time) from which no message goes out."
    )
    quiet_end: int = Field(
        default=8, ge=0, le=23, description="Hour (property time) at which messages go out again."
    )
    every_seconds: float = Field(
        default=60.0, gt=0, description="How often due messages are planned and sent."
    )

    @model_validator(mode="after")
    def _quiet_hours_are_a_span(self) -> LifecycleSettings:
        if self.quiet_start == self.quiet_end:
            raise ValueError("quiet_start and quiet_end must differ")
        return self
