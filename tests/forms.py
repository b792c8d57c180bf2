"""Reading an admin page's form as a browser would submit it."""

from html.parser import HTMLParser


class FormReader(HTMLParser):
    """What a browser would submit from the form with id `form_id`, and every <select>'s
    option values (of any form, for filter choices)."""

    def __init__(self, form_id: str | None = None):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.data: dict[str, list[str]] = {}
        self.options: dict[str, list[str]] = {}
        self.select = None  # (name, multiple, values chosen, first value)
        self.textarea = None  # (name, [text])

    def add(self, name, value):
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = self.form_id is None or attrs.get("id") == self.form_id
        if tag == "select":
            self.select = [attrs.get("name"), "multiple" in attrs, [], None]
            self.options.setdefault(attrs.get("name"), [])
        elif tag == "option" and self.select is not None:
            value = attrs.get("value", "")
            self.options[self.select[0]].append(value)
            if self.select[3] is None:
                self.select[3] = value
            if "selected" in attrs:
                self.select[2].append(value)
        if not self.inside or "disabled" in attrs or not attrs.get("name"):
            return
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.add(attrs["name"], attrs.get("value", "on"))
                return
            self.add(attrs["name"], attrs.get("value", ""))
        elif tag == "textarea":
            self.textarea = (attrs["name"], [])

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1].append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select is not None:
            name, multiple, chosen, first = self.select
            if self.inside and name:
                if chosen:
                    for value in chosen:
                        self.add(name, value)
                elif not multiple and first is not None:
                    self.add(name, first)
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            name, parts = self.textarea
            text = "".join(parts)
            self.add(name, text[1:] if text.startswith("\n") else text)
            self.textarea = None


def form_data(html: str, form_id: str) -> dict:
    """The fields the admin form `form_id` would post, as the test client takes them."""
    reader = FormReader(form_id)
    reader.feed(html)
    assert reader.data, f"no form #{form_id} in the page"
    return {name: values if len(values) > 1 else values[0] for name, values in reader.data.items()}


def select_options(html: str, name: str) -> set[str]:
    """The non-empty option values of the <select name=`name`> of a page."""
    reader = FormReader()
    reader.feed(html)
    return {value for value in reader.options.get(name, []) if value}
