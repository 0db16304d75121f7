"""Reading the desk's pages as a browser would: forms and their inputs, labels, fieldsets,
every URL, every script and style (stdlib html.parser: no new dependency)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

__all__ = ["Control", "Fieldset", "Form", "Page", "parse"]


@dataclass
class Control:
    tag: str  # input, textarea, select, button
    attrs: dict[str, str | None]
    text: str = ""  # a textarea's content

    @property
    def name(self) -> str | None:
        return self.attrs.get("name")

    @property
    def type(self) -> str:
        if self.tag == "input":
            return (self.attrs.get("type") or "text").lower()
        return self.tag

    @property
    def id(self) -> str | None:
        return self.attrs.get("id")


@dataclass
class Fieldset:
    legend: str = ""
    controls: list[Control] = field(default_factory=list)


@dataclass
class Form:
    attrs: dict[str, str | None]
    controls: list[Control] = field(default_factory=list)

    @property
    def id(self) -> str | None:
        return self.attrs.get("id")

    @property
    def action(self) -> str:
        return self.attrs.get("action") or ""

    def names(self) -> set[str]:
        """The names a submission of this form can carry."""
        return {c.name for c in self.controls if c.name and c.tag != "button"}

    def values(self, name: str) -> list[str]:
        return [c.attrs.get("value") or "" for c in self.controls if c.name == name]

    def control(self, name: str) -> Control:
        [found] = [c for c in self.controls if c.name == name]
        return found


@dataclass
class Page:
    title: str = ""
    lang: str | None = None
    forms: list[Form] = field(default_factory=list)
    label_for: list[str] = field(default_factory=list)
    fieldsets: list[Fieldset] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    scripts: list[dict[str, str | None]] = field(default_factory=list)
    inline_scripts: list[str] = field(default_factory=list)
    styles: int = 0  # <style> elements
    style_attributes: int = 0
    event_attributes: list[str] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # element id -> its text

    def form(self, form_id: str) -> Form:
        [found] = [f for f in self.forms if f.id == form_id]
        return found

    def answer_forms(self) -> list[Form]:
        return [f for f in self.forms if "/vragen/" in f.action]

    def text_of(self, element_id: str) -> str:
        return " ".join(self.texts[element_id].split())


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._form: Form | None = None
        self._fieldsets: list[Fieldset] = []
        self._in_legend = False
        self._in_title = False
        self._textarea: Control | None = None
        self._script: list[str] | None = None
        self._open_ids: list[tuple[str, str, list[str]]] = []  # (tag, id, text parts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        page = self.page
        element_id = a.get("id")
        if element_id:
            page.ids.append(element_id)
            if tag not in ("input", "br", "img", "meta", "link"):
                self._open_ids.append((tag, element_id, []))
        for name in ("href", "action", "src"):
            if a.get(name):
                page.urls.append(a[name] or "")
        if "style" in a:
            page.style_attributes += 1
        page.event_attributes += [k for k in a if k.startswith("on")]
        if tag == "html":
            page.lang = a.get("lang")
        elif tag == "title":
            self._in_title = True
        elif tag == "script":
            page.scripts.append(a)
            self._script = []
        elif tag == "style":
            page.styles += 1
        elif tag == "form":
            self._form = Form(a)
            page.forms.append(self._form)
        elif tag == "label" and a.get("for"):
            page.label_for.append(a["for"] or "")
        elif tag == "fieldset":
            fieldset = Fieldset()
            self._fieldsets.append(fieldset)
            page.fieldsets.append(fieldset)
        elif tag == "legend":
            self._in_legend = True
        elif tag in ("input", "textarea", "select", "button"):
            control = Control(tag, a)
            if self._form is not None:
                self._form.controls.append(control)
            for fieldset in self._fieldsets:
                fieldset.controls.append(control)
            if tag == "textarea":
                self._textarea = control

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "script" and self._script is not None:
            if "".join(self._script).strip():
                self.page.inline_scripts.append("".join(self._script))
            self._script = None
        elif tag == "form":
            self._form = None
        elif tag == "fieldset" and self._fieldsets:
            self._fieldsets.pop()
        elif tag == "legend":
            self._in_legend = False
        elif tag == "textarea":
            self._textarea = None
        if self._open_ids and self._open_ids[-1][0] == tag:
            _, element_id, parts = self._open_ids.pop()
            self.page.texts[element_id] = "".join(parts)
            if self._open_ids:
                self._open_ids[-1][2].extend(parts)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.page.title += data
        if self._script is not None:
            self._script.append(data)
        if self._in_legend and self._fieldsets:
            self._fieldsets[-1].legend += data
        if self._textarea is not None:
            self._textarea.text += data
        if self._open_ids:
            self._open_ids[-1][2].append(data)


def parse(html: str) -> Page:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    page = parser.page
    page.title = " ".join(page.title.split())
    return page
