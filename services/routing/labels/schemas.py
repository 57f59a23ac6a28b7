"""Request and response bodies of the label endpoints."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

#: A label's name: a lowercase slug, as metrics' ``label=`` filter takes it.
LabelName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LabelCreate(_Body):
    name: LabelName = Field(examples=["complaint"])
    description: str | None = Field(default=None, max_length=1000)


class LabelUpdate(_Body):
    description: str | None = Field(default=None, max_length=1000)
    retired: bool | None = Field(
        default=None,
        description="true retires the label (conversations keep it, none newly gets it); "
        "false brings it back.",
    )


class LabelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    description: str | None
    created_at: datetime
    retired_at: datetime | None


class LabelsBody(_Body):
    labels: list[LabelName] = Field(
        max_length=20,
        description="Every label the conversation is to carry (the whole set, not a change); "
        "[] takes them all off.",
        examples=[["billing", "complaint"]],
    )


class ConversationLabels(BaseModel):
    conversation_id: uuid.UUID
    labels: list[str]
