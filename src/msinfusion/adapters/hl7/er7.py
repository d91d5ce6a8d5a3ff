"""A tolerant HL7 v2 ER7 reader: segments by position, with the sender's own delimiters.

HL7 v2 is read by position, not by version-specific structure (device-interop dossier A,
MSH-12), so one reader serves 2.3.1 to 2.8. The delimiters come from MSH-1 and MSH-2 (any
four distinct non-alphanumeric characters, a fifth truncation character from 2.7 ignored);
segments end with CR, LF or CRLF; blank lines and an FHS/BHS batch envelope are skipped, each
MSH starting one message (dossier C, batch protocol).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field

from msinfusion.errors import MalformedMessage

ENVELOPE = ("FHS", "BHS", "BTS", "FTS")


@dataclass(frozen=True, slots=True, kw_only=True)
class Delimiters:
    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    def unescape(self, text: str) -> str:
        """HL7 escape sequences \\F\\ \\S\\ \\T\\ \\R\\ \\E\\ (others dropped)."""
        if self.escape not in text:
            return text
        names = {
            "F": self.field,
            "S": self.component,
            "T": self.subcomponent,
            "R": self.repetition,
            "E": self.escape,
        }
        out, parts = [], text.split(self.escape)
        for index, part in enumerate(parts):
            if index % 2 == 0:
                out.append(part)
            else:
                out.append(names.get(part, ""))
        return "".join(out)


def delimiters_of(msh: str) -> Delimiters:
    """MSH-1 and MSH-2 of an MSH line; ``MalformedMessage`` when they cannot be delimiters."""
    if len(msh) < 8 or not msh.startswith("MSH"):
        raise MalformedMessage("the message does not start with an MSH segment", field="MSH")
    field = msh[3]
    chars = msh[4:].split(field, 1)[0]
    if len(chars) not in (4, 5) or field.isalnum() or field.isspace():
        raise MalformedMessage(
            "MSH-2 must hold four encoding characters (component, repetition, escape, "
            "sub-component)",
            field="MSH-2",
        )
    chars = chars[:4]
    if len(set(chars + field)) != 5 or any(c.isalnum() or c.isspace() for c in chars):
        raise MalformedMessage(
            "MSH-1 and MSH-2 must be five distinct non-alphanumeric characters", field="MSH-2"
        )
    return Delimiters(
        field=field,
        component=chars[0],
        repetition=chars[1],
        escape=chars[2],
        subcomponent=chars[3],
    )


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment's fields as raw text; ``field(n)`` counts as HL7 does (MSH-1 is the
    field separator). A field's split into components is remembered: a reader asks for the
    same few fields many times (an OBX is read for ~20 components)."""

    name: str
    fields: tuple[str, ...]
    delimiters: Delimiters
    _split: dict[tuple[int, int], list[str]] = dataclass_field(
        default_factory=dict, compare=False, repr=False
    )
    _texts: dict[tuple[int, int, int], str] = dataclass_field(
        default_factory=dict, compare=False, repr=False
    )

    def field(self, number: int) -> str:
        index = number - 1 if self.name == "MSH" else number
        if self.name == "MSH" and number == 1:
            return self.delimiters.field
        return self.fields[index] if 0 < index < len(self.fields) else ""

    def repetitions(self, number: int) -> list[str]:
        return self.field(number).split(self.delimiters.repetition)

    def components(self, number: int, repetition: int = 0) -> list[str]:
        return list(self._components(number, repetition))

    def _components(self, number: int, repetition: int) -> list[str]:
        found = self._split.get((number, repetition))
        if found is None:
            reps = self.repetitions(number)
            raw = reps[repetition] if repetition < len(reps) else ""
            found = self._split[number, repetition] = raw.split(self.delimiters.component)
        return found

    def component(self, number: int, component: int, repetition: int = 0) -> str:
        """Component ``component`` (1-based) as text, unescaped, first sub-component."""
        key = (number, component, repetition)
        text = self._texts.get(key)
        if text is None:
            parts = self._components(number, repetition)
            raw = parts[component - 1] if component - 1 < len(parts) else ""
            text = self.delimiters.unescape(raw.partition(self.delimiters.subcomponent)[0]).strip()
            self._texts[key] = text
        return text

    def subcomponents(self, number: int, component: int, repetition: int = 0) -> list[str]:
        """Every sub-component of one component (1-based), unescaped (e.g. CX-4's HD)."""
        parts = self.components(number, repetition)
        raw = parts[component - 1] if component - 1 < len(parts) else ""
        return [
            self.delimiters.unescape(p).strip() for p in raw.split(self.delimiters.subcomponent)
        ]

    def text(self, number: int) -> str:
        """A simple field's text (its first component), unescaped."""
        return self.component(number, 1)


def segment_lines(text: str) -> list[str]:
    """The non-blank segment lines of ``text`` (CR, LF or CRLF endings)."""
    lines = text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
    return [line.strip("\x0b\x1c") for line in lines if line.strip("\x0b\x1c").strip()]


def split_messages(text: str) -> list[list[str]]:
    """The messages of ``text``: one, or several inside an FHS/BHS batch; each a list of lines
    starting with MSH. ``MalformedMessage`` when a line stands outside any message."""
    messages: list[list[str]] = []
    for line in segment_lines(text):
        if line[:3] in ENVELOPE:
            continue
        if line.startswith("MSH"):
            messages.append([line])
        elif not messages:
            raise MalformedMessage("the message does not start with an MSH segment", field="MSH")
        else:
            messages[-1].append(line)
    if not messages:
        raise MalformedMessage("the message does not start with an MSH segment", field="MSH")
    return messages


def parse_segments(lines: list[str]) -> list[Segment]:
    """The segments of one message (its first line is the MSH)."""
    delimiters = delimiters_of(lines[0])
    found = []
    for line in lines:
        fields = tuple(line.split(delimiters.field))
        name = fields[0].strip()
        if len(name) != 3 or not name.isalnum() or (not name.isupper() and not name[0].isupper()):
            raise MalformedMessage(f"'{name[:8]}' is not a segment name", field="segment")
        found.append(Segment(name, fields, delimiters))
    return found


def header_field(line: str, number: int) -> str:
    """MSH-``number`` of an MSH line split only on its field separator (for an ACK to a
    message whose encoding characters cannot be read)."""
    if len(line) < 4:
        return ""
    parts = line.split(line[3])
    index = number - 1
    return parts[index] if 0 < index < len(parts) else ""
