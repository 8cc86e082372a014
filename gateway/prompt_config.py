"""`[alarm.prompt]`: the local "are you OK?" prompt's settings (gateway/local_prompt.py).

Off by default. Each action is a table keyed by `type` (speak, command, gpio), validated
here like every other part of the home's config, so a typo is an error at load, naming
the key, not a silent prompt that never plays.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

Language = Literal["fi", "sv", "en"]


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SpeakAction(_Action):
    type: Literal["speak"] = Field(title="Say the phrase on a speaker")
    language: Language = Field("fi", title="Language of the phrase (the resident's)")
    text: str | None = Field(None, min_length=1, title="Own phrase instead of the built-in one")
    command: list[str] = Field(["espeak-ng", "-v", "{language}", "{text}"], min_length=1,
                               title="Text-to-speech command; {text} and {language} are filled in")


class CommandAction(_Action):
    type: Literal["command"] = Field(title="Run a command (argv list)")
    command: list[str] = Field(min_length=1, title="argv; {text}, {language}, {event_id} and "
                                                   "{room} are filled in")
    language: Language = Field("fi", title="Language of {text}")
    text: str | None = Field(None, min_length=1, title="Own phrase instead of the built-in one")


class GpioAction(_Action):
    type: Literal["gpio"] = Field(title="Sound a buzzer on a GPIO line (libgpiod)")
    chip: str = Field("/dev/gpiochip0", title="GPIO chip device")
    line: int | str = Field(title="Line offset (BCM number, e.g. 18) or line name ('GPIO18')")
    active_low: bool = Field(False, title="True if the buzzer sounds when the line is low")
    on_s: float = Field(1.0, gt=0, le=10, title="Seconds the buzzer sounds each time")


PromptAction = Annotated[Union[SpeakAction, CommandAction, GpioAction], Field(discriminator="type")]


class PromptConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = Field(False, title="Ask the resident locally while a suspected fall can "
                                       "still be cancelled")
    actions: list[PromptAction] = Field(default_factory=list, title="What the prompt does "
                                                                   "(speak, command, gpio)")
    repeat_s: float = Field(10.0, ge=2, le=120, title="Seconds between repeats until the "
                                                      "window closes")
    timeout_s: float = Field(8.0, ge=0.5, le=60, title="An action still running after this "
                                                       "is killed (and counted as failed)")

    @model_validator(mode="after")
    def _something_to_do(self) -> "PromptConfig":
        if self.enabled and not self.actions:
            raise ValueError("the prompt is enabled but has no actions: add one, e.g. "
                             "[[alarm.prompt.actions]] type = \"speak\" language = \"fi\"")
        return self
