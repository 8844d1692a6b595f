"""Read a questionnaire YAML file into a :class:`~questionnaires.model.Questionnaire`.

The file is parsed to a YAML node tree first, so that every error names the file and
the line where the problem is. Nothing is returned (and so nothing can be stored) unless
the whole file is valid.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from .kinds import KINDS
from .model import (
    DEFAULT_PAGE_ANSWERS,
    MAX_PAGE_ANSWERS,
    MEASURE_ROLES,
    OUTCOME_ROLES,
    Choice,
    Condition,
    FollowUpRule,
    Item,
    Measure,
    Questionnaire,
    Scale,
    Section,
    construct_names,
    slot_name,
)
from .settings import MISSING_METHODS, SEGMENT_ROLES, AnalysisSettings, has_cycle

DEFAULT_LANGUAGES = ("en", "zh")
ID_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 20
# YAML tags a questionnaire may use: plain mappings, lists and scalars, nothing that
# builds objects (python tags) or that a reader might not know.
PLAIN_TAGS = frozenset(
    "tag:yaml.org,2002:" + name
    for name in ("map", "seq", "str", "int", "bool", "null", "float", "timestamp")
)
RESERVED_IDS = frozenset(
    # query parameters of the survey, report and API URLs, where segment ids are filters
    ("t", "r", "s", "page", "lang", "missing", "from", "to", "version", "factors", "extraction")
    + ("rotation", "bootstrap", "seed", "all", "cursor", "limit", "format", "n", "where")
    + ("search", "offset")  # the report pages' open-text search and paging
)


class QuestionnaireError(ValueError):
    """A questionnaire file is not valid; the message names the file and the line."""

    def __init__(self, source: str, line: int | None, message: str) -> None:
        self.source = source
        self.line = line
        self.message = message
        where = f"{source}, line {line}" if line else source
        super().__init__(f"{where}: {message}")


def read_source(path: str | Path) -> str:
    """The text of a questionnaire file, refused if too large or not UTF-8."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise QuestionnaireError(str(path), None, f"cannot read the file: {exc}") from exc
    if len(data) > MAX_FILE_BYTES:
        raise QuestionnaireError(
            str(path), None, f"the file is larger than {MAX_FILE_BYTES // 1024} kB"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise QuestionnaireError(str(path), None, f"not UTF-8 text: {exc}") from exc


def load_questionnaire(path: str | Path) -> Questionnaire:
    """Read and validate one questionnaire file."""
    return parse_questionnaire(read_source(path), source=str(path))


class _GuardedLoader(yaml.SafeLoader):
    """A composer that refuses what a questionnaire never needs and an attacker might
    use: anchors and aliases (exponential expansion), deep nesting (recursion) and tags
    other than the plain ones."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):  # type: ignore[override]
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise QuestionnaireError(
                "", event.start_mark.line + 1, "anchors and aliases (& and *) are not allowed"
            )
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise QuestionnaireError(
                "", event.start_mark.line + 1, f"nested more than {MAX_DEPTH} levels deep"
            )
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node.tag not in PLAIN_TAGS:
            raise QuestionnaireError(
                "", node.start_mark.line + 1, f"the tag {node.tag!r} is not allowed"
            )
        return node


def parse_questionnaire(text: str, source: str = "<string>") -> Questionnaire:
    """Validate questionnaire YAML ``text``; ``source`` names it in error messages."""
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise QuestionnaireError(
            source, None, f"the file is larger than {MAX_FILE_BYTES // 1024} kB"
        )
    loader = None
    try:
        loader = _GuardedLoader(text)  # the reader already refuses control characters
        root = loader.get_single_node()
    except QuestionnaireError as exc:
        raise QuestionnaireError(source, exc.line, exc.message) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise QuestionnaireError(
            source, line, f"not valid YAML: character {_char(exc.character)!r} is not allowed"
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise QuestionnaireError(source, line, f"not valid YAML: {problem}") from exc
    finally:
        if loader is not None:
            loader.dispose()
    if root is None:
        raise QuestionnaireError(source, None, "the file is empty")
    return _Reader(source).questionnaire(root)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


class _Reader:
    """Turn a YAML node tree into the model, raising at the first problem."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.languages: tuple[str, ...] = DEFAULT_LANGUAGES
        self.scale = Scale(1, 7)
        self.ids: dict[str, int] = {}  # every id and column name -> line, for duplicates
        self.answer_columns: dict[str, Item] = {}  # columns defined so far, for show_if
        self._constructor = yaml.SafeLoader("")

    # -- primitives ---------------------------------------------------------------
    def fail(self, node: yaml.Node | None, message: str) -> QuestionnaireError:
        return QuestionnaireError(self.source, _line(node) if node is not None else None, message)

    def mapping(
        self,
        node: yaml.Node,
        where: str,
        required: Iterable[str] = (),
        optional: Iterable[str] = (),
    ) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{where} must be a mapping of keys to values")
        allowed = [*required, *optional]
        found: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = self._constructor.construct_object(key_node)
            key = str(key)
            if key in found:
                raise self.fail(key_node, f"{where}: key '{key}' is given twice")
            if key not in allowed:
                hint = difflib.get_close_matches(key, allowed, n=1)
                suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
                raise self.fail(
                    key_node,
                    f"{where}: unknown key '{key}'{suggestion}; "
                    f"allowed keys are {', '.join(allowed)}",
                )
            found[key] = value_node
        for key in required:
            if key not in found:
                raise self.fail(node, f"{where}: required key '{key}' is missing")
        return found

    def sequence(self, node: yaml.Node, where: str, allow_empty: bool = False) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{where} must be a list")
        if not node.value and not allow_empty:
            raise self.fail(node, f"{where} must not be empty")
        return list(node.value)

    def scalar(self, node: yaml.Node, where: str) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, f"{where} must be a single value, not a list or mapping")
        return self._constructor.construct_object(node)

    def integer(self, node: yaml.Node, where: str) -> int:
        value = self.scalar(node, where)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(node, f"{where} must be a whole number, got {value!r}")
        return value

    def boolean(self, node: yaml.Node, where: str) -> bool:
        value = self.scalar(node, where)
        if not isinstance(value, bool):
            raise self.fail(node, f"{where} must be true or false, got {value!r}")
        return value

    def choice_of(self, node: yaml.Node, where: str, allowed: Iterable[str]) -> str:
        value = self.scalar(node, where)
        allowed = tuple(allowed)
        if value not in allowed:
            raise self.fail(node, f"{where} must be one of {', '.join(allowed)}, got {value!r}")
        return value

    def identifier(self, node: yaml.Node, where: str, register: bool = True) -> str:
        value = self.scalar(node, where)
        if not isinstance(value, str) or not ID_PATTERN.match(value):
            raise self.fail(
                node,
                f"{where}: {value!r} is not a valid id (a letter, then letters, digits "
                "or underscores, at most 63 characters)",
            )
        if register:
            self.register(node, value, where)
        return value

    def register(self, node: yaml.Node, name: str, where: str) -> None:
        if name in self.ids:
            raise self.fail(
                node, f"{where}: duplicate id '{name}' (already used on line {self.ids[name]})"
            )
        self.ids[name] = _line(node)

    def text(self, node: yaml.Node, where: str) -> dict[str, str]:
        if isinstance(node, yaml.ScalarNode):
            raise self.fail(
                node,
                f"{where} must give a text for each language ({', '.join(self.languages)}), "
                "as a mapping such as {en: ..., zh: ...}",
            )
        entries = self.mapping(node, where, optional=self.languages)
        texts: dict[str, str] = {}
        for lang in self.languages:
            if lang not in entries:
                raise self.fail(node, f"{where}: missing translation for language '{lang}'")
            value = self.scalar(entries[lang], f"{where}.{lang}")
            if not isinstance(value, str) or not value.strip():
                raise self.fail(entries[lang], f"{where}.{lang} must be a non-empty text")
            texts[lang] = value.strip()
        return texts

    # -- the questionnaire -------------------------------------------------------
    def questionnaire(self, root: yaml.Node) -> Questionnaire:
        top = self.mapping(
            root,
            "the questionnaire",
            required=("id", "title", "scale", "dimensions"),
            optional=(
                "languages",
                "intro",
                "measures",
                "outcomes",
                "questions",
                "segments",
                "access",
                "page_size",
                "analysis",
                "anonymous",
                "follow_up",
            ),
        )
        if "languages" in top:
            langs = [
                self.identifier(n, "languages", register=False)
                for n in self.sequence(top["languages"], "languages")
            ]
            if len(set(langs)) != len(langs):
                raise self.fail(top["languages"], "languages: a language is listed twice")
            self.languages = tuple(langs)
        qid = self.identifier_with_dashes(top["id"])
        title = self.text(top["title"], "title")
        intro = self.text(top["intro"], "intro") if "intro" in top else None
        self.scale = self.read_scale(top["scale"], "scale")
        measures = self.read_measures(top.get("measures"))
        dimensions = tuple(
            self.read_section(n, "dimension", measures)
            for n in self.sequence(top["dimensions"], "dimensions")
        )
        outcomes = (
            tuple(
                self.read_section(n, "outcome", ())
                for n in self.sequence(top["outcomes"], "outcomes", allow_empty=True)
            )
            if "outcomes" in top
            else ()
        )
        questions = (
            tuple(
                self.read_section(n, "questions", ())
                for n in self.sequence(top["questions"], "questions", allow_empty=True)
            )
            if "questions" in top
            else ()
        )
        segments = self.read_segments(top["segments"]) if "segments" in top else ()
        access = (
            self.choice_of(top["access"], "access", ("open", "invitation"))
            if "access" in top
            else "open"
        )
        page_size = DEFAULT_PAGE_ANSWERS
        if "page_size" in top:
            page_size = self.integer(top["page_size"], "page_size")
            least = max(len(measures), 1)
            if not least <= page_size <= MAX_PAGE_ANSWERS:
                raise self.fail(
                    top["page_size"],
                    f"page_size counts answers per page and must be between {least} (the "
                    f"answers of one item) and {MAX_PAGE_ANSWERS}",
                )
        analysis = (
            self.read_analysis(top["analysis"], measures, dimensions, outcomes)
            if "analysis" in top
            else AnalysisSettings()
        )
        anonymous = self.boolean(top["anonymous"], "anonymous") if "anonymous" in top else False
        follow_up = self.read_follow_up(top["follow_up"]) if "follow_up" in top else None
        return Questionnaire(
            id=qid,
            title=title,
            languages=self.languages,
            scale=self.scale,
            measures=measures,
            dimensions=dimensions,
            outcomes=outcomes,
            questions=questions,
            segments=segments,
            intro=intro,
            access=access,  # type: ignore[arg-type]
            page_size=page_size,
            source=self.source,
            analysis=analysis,
            anonymous=anonymous,
            follow_up=follow_up,
        )

    def identifier_with_dashes(self, node: yaml.Node) -> str:
        value = self.scalar(node, "id")
        if not isinstance(value, str) or not re.match(r"^[a-z0-9][a-z0-9_-]{0,62}$", value):
            raise self.fail(
                node,
                f"id: {value!r} is not a valid questionnaire id (lower-case letters, digits, "
                "'-' and '_', at most 63 characters; it is used in URLs)",
            )
        return value

    def read_scale(self, node: yaml.Node, where: str) -> Scale:
        entries = self.mapping(node, where, required=("min", "max"), optional=("labels",))
        low = self.integer(entries["min"], f"{where}.min")
        high = self.integer(entries["max"], f"{where}.max")
        if low >= high:
            raise self.fail(
                entries["min"],
                f"{where}: min ({low}) must be smaller than max ({high}); is it reversed?",
            )
        if low < -1000 or high > 1000:
            raise self.fail(node, f"{where}: the scale must lie within -1000..1000")
        labels: dict[int, dict[str, str]] = {}
        if "labels" in entries:
            label_node = entries["labels"]
            if not isinstance(label_node, yaml.MappingNode):
                raise self.fail(label_node, f"{where}.labels must map scale points to texts")
            for key_node, value_node in label_node.value:
                point = self.integer(key_node, f"{where}.labels key")
                if not low <= point <= high:
                    raise self.fail(
                        key_node, f"{where}.labels: {point} lies outside the scale {low}..{high}"
                    )
                if point in labels:
                    raise self.fail(key_node, f"{where}.labels: point {point} is given twice")
                labels[point] = self.text(value_node, f"{where}.labels.{point}")
        return Scale(low, high, labels)

    def read_measures(self, node: yaml.Node | None) -> tuple[Measure, ...]:
        if node is None:
            return ()
        measures = []
        roles: set[str] = set()
        for entry in self.sequence(node, "measures"):
            fields = self.mapping(entry, "a measure", required=("id", "role", "title"))
            mid = self.identifier(fields["id"], "measure id")
            role = self.choice_of(fields["role"], f"measure '{mid}': role", MEASURE_ROLES)
            if role in roles:
                raise self.fail(fields["role"], f"measure '{mid}': role '{role}' is used twice")
            roles.add(role)
            title = self.text(fields["title"], f"measure '{mid}': title")
            measures.append(Measure(mid, role, title))  # type: ignore[arg-type]
        if ("adequate" in roles) != ("desired" in roles):
            raise self.fail(
                node,
                "measures: a zone of tolerance needs both an 'adequate' and a 'desired' measure",
            )
        return tuple(measures)

    def read_section(self, node: yaml.Node, kind: str, measures: tuple[Measure, ...]) -> Section:
        label = {
            "dimension": "a dimension",
            "outcome": "an outcome",
            "questions": "a question group",
        }
        optional = ["title", "role"] if kind == "outcome" else ["title"]
        fields = self.mapping(node, label[kind], required=("id", "items"), optional=optional)
        sid = self.identifier(fields["id"], f"{kind} id")
        where = f"{kind} '{sid}'"
        if kind != "questions" and "title" not in fields:
            raise self.fail(node, f"{where}: required key 'title' is missing")
        title = self.text(fields["title"], f"{where}: title") if "title" in fields else {}
        role = None
        if kind == "outcome":
            role = (
                self.choice_of(fields["role"], f"{where}: role", OUTCOME_ROLES)
                if "role" in fields
                else "other"
            )
        items = tuple(
            self.read_item(n, where, kind, measures)
            for n in self.sequence(fields["items"], f"{where}: items")
        )
        return Section(sid, kind, title, items, role)  # type: ignore[arg-type]

    def read_item(
        self, node: yaml.Node, where: str, section_kind: str, measures: tuple[Measure, ...]
    ) -> Item:
        optional = ["reverse", "required", "show_if"]
        if section_kind == "questions":
            optional += ["personal", "type"]
            optional += sorted({key for kind in KINDS.values() for key in kind.options})
        fields = self.mapping(node, f"{where}: an item", required=("id", "text"), optional=optional)
        iid = self.identifier(fields["id"], f"{where}: item id")
        where = f"item '{iid}'"
        text = self.text(fields["text"], f"{where}: text")
        name = (
            self.choice_of(fields["type"], f"{where}: type", tuple(KINDS))
            if "type" in fields
            else "scale"
        )
        kind = KINDS[name]
        for key in fields:
            if key in optional[5:] and key not in kind.options:
                takers = [k.name for k in KINDS.values() if key in k.options]
                raise self.fail(
                    fields[key], f"{where}: '{key}' is only for {' and '.join(takers)} items"
                )
        for key in kind.options:
            if key not in fields and key == "choices":
                raise self.fail(node, f"{where}: a '{name}' question needs 'choices'")
        reverse = (
            self.boolean(fields["reverse"], f"{where}: reverse") if "reverse" in fields else False
        )
        if reverse and not kind.reversible:
            raise self.fail(fields["reverse"], f"{where}: only scale items can be reverse-keyed")
        required = (
            self.boolean(fields["required"], f"{where}: required")
            if "required" in fields
            else kind.default_required
        )
        attributes = kind.declare(self, fields, where)
        personal = (
            self.boolean(fields["personal"], f"{where}: personal")
            if "personal" in fields
            else kind.default_personal
        )
        show_if = self.read_condition(fields["show_if"], where) if "show_if" in fields else None
        item = Item(
            id=iid,
            text=text,
            kind=name,  # type: ignore[arg-type]
            required=required,
            reverse=reverse,
            show_if=show_if,
            line=_line(node),
            personal=personal,
            **attributes,
        )
        self.register_columns(node, item, measures if section_kind == "dimension" else ())
        return item

    def register_columns(self, node: yaml.Node, item: Item, measures: tuple[Measure, ...]) -> None:
        """Reserve the item's wide column names, so no two columns can clash."""
        for measure in measures or (None,):
            name = slot_name(item.id, measure.id if measure else None, len(measures))
            for column, _, _ in item.type.column_specs(item, name):
                if column != item.id:
                    self.register(node, column, f"item '{item.id}': column")
            self.answer_columns[name] = item

    def read_choices(self, node: yaml.Node, where: str) -> tuple[Choice, ...]:
        choices = []
        seen: set[str] = set()
        for code, entry in enumerate(self.sequence(node, f"{where}: choices"), start=1):
            if isinstance(entry, yaml.ScalarNode):
                # A bare choice such as "A" or "2024Q1": the same label in every language.
                value = self.scalar(entry, f"{where}: choice")
                cid = str(value)
                title = {lang: cid for lang in self.languages}
                id_node = entry
            else:
                fields = self.mapping(entry, f"{where}: a choice", required=("id", "title"))
                id_node = fields["id"]
                cid = str(self.scalar(id_node, f"{where}: choice id"))
                title = self.text(fields["title"], f"{where}: choice '{cid}': title")
            if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$", cid):
                raise self.fail(
                    id_node,
                    f"{where}: choice id {cid!r} may hold only letters, digits, '_', '.' and '-'",
                )
            if cid in seen:
                raise self.fail(id_node, f"{where}: duplicate choice '{cid}'")
            seen.add(cid)
            choices.append(Choice(cid, code, title))
        if len(choices) > 1000:
            raise self.fail(node, f"{where}: at most 1000 choices")
        return tuple(choices)

    def read_condition(self, node: yaml.Node, where: str, key: str = "show_if") -> Condition:
        fields = self.mapping(
            node, f"{where}: {key}", required=("item",), optional=("equals", "in", "min", "max")
        )
        column = self.scalar(fields["item"], f"{where}: {key}.item")
        target = self.answer_columns.get(column)
        if target is None:
            earlier = "an earlier answer" if key == "show_if" else "an answer of this questionnaire"
            above = " above this one" if key == "show_if" else ""
            raise self.fail(
                fields["item"],
                f"{where}: {key} refers to '{column}', which is not {earlier} "
                f"(use a column name such as P_TA1 or NPS of an item{above})",
            )
        allowed = target.type.condition_values(target)
        if allowed is None:
            raise self.fail(fields["item"], f"{where}: {key} cannot depend on a {target.kind} item")
        tests = [k for k in ("equals", "in", "min", "max") if k in fields]
        if not tests:
            raise self.fail(node, f"{where}: {key} needs one of equals, in, min or max")
        if ("equals" in fields or "in" in fields) and len(tests) > 1:
            raise self.fail(node, f"{where}: {key} takes either equals, in, or min/max")
        if "equals" in fields:
            value = self.condition_value(fields["equals"], where, allowed)
            return Condition(column, equals=value)
        if "in" in fields:
            values = tuple(
                self.condition_value(n, where, allowed)
                for n in self.sequence(fields["in"], f"{where}: {key}.in")
            )
            return Condition(column, in_=values)
        if not target.type.takes_bounds():
            raise self.fail(node, f"{where}: min/max conditions need a numeric item")
        low = self.integer(fields["min"], f"{where}: {key}.min") if "min" in fields else None
        high = self.integer(fields["max"], f"{where}: {key}.max") if "max" in fields else None
        return Condition(column, min=low, max=high)

    def read_follow_up(self, node: yaml.Node) -> FollowUpRule:
        """``follow_up: {when: CONDITION or [CONDITIONS], complaint: TEXT_ITEM,
        category: CHOICE_ITEM}``: when a completed response needs a follow-up."""
        fields = self.mapping(node, "follow_up", optional=("when", "complaint", "category"))
        if "when" not in fields and "complaint" not in fields:
            raise self.fail(node, "follow_up needs 'when' (a condition), 'complaint' or both")
        when: tuple[Condition, ...] = ()
        if "when" in fields:
            entries = (
                self.sequence(fields["when"], "follow_up.when")
                if isinstance(fields["when"], yaml.SequenceNode)
                else [fields["when"]]
            )
            when = tuple(self.read_condition(entry, "follow_up", key="when") for entry in entries)
        complaint = None
        if "complaint" in fields:
            complaint = self.scalar(fields["complaint"], "follow_up.complaint")
            item = self.answer_columns.get(complaint)
            if item is None or item.type.numeric:
                raise self.fail(
                    fields["complaint"],
                    f"follow_up.complaint: {complaint!r} is not an open-text question of this "
                    "questionnaire",
                )
        category = None
        if "category" in fields:
            category = self.scalar(fields["category"], "follow_up.category")
            item = self.answer_columns.get(category)
            if item is None or not item.choices or item.hidden:
                raise self.fail(
                    fields["category"],
                    f"follow_up.category: {category!r} is not a choice question of this "
                    "questionnaire",
                )
        return FollowUpRule(when, complaint, category)

    def condition_value(self, node: yaml.Node, where: str, allowed: tuple[Any, ...]) -> Any:
        value = self.scalar(node, f"{where}: show_if value")
        if isinstance(value, int) and not isinstance(value, bool) and str(value) in allowed:
            value = str(value)  # a bare numeric choice id such as 2024
        if value not in allowed:
            raise self.fail(
                node,
                f"{where}: show_if value {value!r} is not a possible answer "
                f"({', '.join(map(str, allowed))})",
            )
        return value

    def read_segments(self, node: yaml.Node) -> tuple[Section, ...]:
        items = []
        for entry in self.sequence(node, "segments", allow_empty=True):
            fields = self.mapping(
                entry,
                "a segment",
                required=("id", "title", "choices"),
                optional=("required", "hidden", "default", "role", "personal"),
            )
            sid = self.identifier(fields["id"], "segment id")
            where = f"segment '{sid}'"
            if sid in RESERVED_IDS:
                raise self.fail(
                    fields["id"],
                    f"{where}: '{sid}' is a reserved name (segment ids are URL filters; "
                    f"reserved are {', '.join(sorted(RESERVED_IDS))})",
                )
            title = self.text(fields["title"], f"{where}: title")
            choices = self.read_choices(fields["choices"], where)
            required = (
                self.boolean(fields["required"], f"{where}: required")
                if "required" in fields
                else False
            )
            role = None
            if "role" in fields:
                role = self.choice_of(fields["role"], f"{where}: role", SEGMENT_ROLES)
                if any(i.role == role for i in items):
                    raise self.fail(
                        fields["role"], f"{where}: only one segment can have the role '{role}'"
                    )
            hidden = (
                self.boolean(fields["hidden"], f"{where}: hidden") if "hidden" in fields else False
            )
            if hidden and required:
                raise self.fail(
                    fields["required"], f"{where}: a hidden segment is never asked, so not required"
                )
            default = None
            if "default" in fields:
                default = str(self.scalar(fields["default"], f"{where}: default"))
                if default not in {c.id for c in choices}:
                    raise self.fail(
                        fields["default"],
                        f"{where}: default {default!r} is not one of the choices "
                        f"({', '.join(c.id for c in choices)})",
                    )
            item = Item(
                sid,
                title,
                "single",
                required,
                choices=choices,
                hidden=hidden,
                default=default,
                line=_line(entry),
                role=role,
                personal=(
                    self.boolean(fields["personal"], f"{where}: personal")
                    if "personal" in fields
                    else False
                ),
            )
            self.answer_columns[sid] = item
            items.append(item)
        if not items:
            return ()
        # The section's heading ("About you") is interface text, translated by Flask-Babel.
        return (Section("segments", "segments", {}, tuple(items)),)

    def read_analysis(
        self,
        node: yaml.Node,
        measures: tuple[Measure, ...],
        dimensions: tuple[Section, ...],
        outcomes: tuple[Section, ...],
    ) -> AnalysisSettings:
        """The ``analysis:`` settings: the missing-data method and the index's path model."""
        fields = self.mapping(node, "analysis", optional=("missing", "paths"))
        missing = (
            self.choice_of(fields["missing"], "analysis.missing", MISSING_METHODS)
            if "missing" in fields
            else "listwise"
        )
        constructs = set(construct_names(measures, dimensions, outcomes))
        paths: list[tuple[str, str]] = []
        lines: dict[tuple[str, str], int] = {}
        path_nodes = (
            self.sequence(fields["paths"], "analysis.paths", allow_empty=True)
            if "paths" in fields
            else []
        )
        for entry in path_nodes:
            ends = self.sequence(entry, "analysis.paths: a path")
            if len(ends) != 2:
                raise self.fail(entry, "analysis.paths: a path is a pair [from, to]")
            pair = []
            for end in ends:
                name = self.scalar(end, "analysis.paths: a construct")
                if name not in constructs:
                    hint = difflib.get_close_matches(str(name), sorted(constructs), n=1)
                    suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
                    raise self.fail(
                        end,
                        f"analysis.paths: unknown construct {name!r}{suggestion}; use a "
                        "dimension id, <measure id>_<dimension id> or an outcome id with "
                        "scale items",
                    )
                pair.append(name)
            path = (pair[0], pair[1])
            if path[0] == path[1]:
                raise self.fail(entry, f"analysis.paths: '{path[0]}' cannot lead to itself")
            if path in lines:
                raise self.fail(
                    entry,
                    f"analysis.paths: {path[0]} -> {path[1]} is given twice "
                    f"(first on line {lines[path]})",
                )
            lines[path] = _line(entry)
            paths.append(path)
            if has_cycle(paths):
                raise self.fail(
                    entry,
                    f"analysis.paths: {path[0]} -> {path[1]} closes a loop; the path model "
                    "must be recursive (no construct may lead back to itself)",
                )
        return AnalysisSettings(missing=missing, paths=tuple(paths))  # type: ignore[arg-type]


def _char(character: int | str) -> str:
    return chr(character) if isinstance(character, int) else character
