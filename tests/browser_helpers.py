"""Driving Label Studio 1.23's labeling page in headless Chromium, the way an annotator does.

Used by `test_browser.py`. Everything here works on what a person sees and does: text on the
page, label chips, highlighted words, mouse drags, buttons. Offsets given to these helpers are
code points into the task's text, as in our records; the page's JavaScript counts UTF-16 units,
so the conversion happens here, once.

Selectors (Label Studio 1.23.2): the task's texts render as `.lsf-htx-richtext` (one per `<Text>`
tag, in the order of the labeling config); regions as `span.htx-highlight` with the class
`htx-highlight-<region id>-<n>` and `data-label="<index>:<label>"`; label chips as `.lsf-label`
inside one `.lsf-labels` per `<Labels>` control; choices as `.lsf-choice`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Locator, Page, Playwright

CHROMIUM = Path("/usr/bin/chromium")
# Flags that keep Chromium off the (closed) network and working as root in a container.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1000}


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def log_in(page: Page, url: str, email: str, password: str) -> None:
    page.goto(f"{url}/user/login/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/user/login).*$"))


# ---- the labeling config: which element on the page is which tag -------------------------------


@dataclass(frozen=True)
class PageLayout:
    """Where each `<Text>` and `<Labels>` of a labeling config lands on the page (by order)."""

    texts: dict[str, int]  # <Text name> → index among .lsf-htx-richtext
    text_values: dict[str, int]  # <Text value> ("$context_before") → the same index
    labels: dict[str, int]  # <Labels name> → index among .lsf-labels

    @classmethod
    def of(cls, label_config: str) -> PageLayout:
        root = ET.fromstring(label_config)
        texts = [t for t in root.iter() if t.tag == "Text"]
        return cls(
            texts={t.get("name", ""): i for i, t in enumerate(texts)},
            text_values={t.get("value", ""): i for i, t in enumerate(texts)},
            labels={t.get("name", ""): i for i, t in enumerate(root.iter("Labels"))},
        )


def open_task(page: Page, url: str, project_id: int, task_id: int, text: str) -> None:
    """The task's labeling page (data manager quick view), once the sentence is rendered."""
    page.goto(f"{url}/projects/{project_id}/data?task={task_id}")
    wait_until_loaded(page)
    page.wait_for_function(
        """(text) => Array.from(document.querySelectorAll('.lsf-htx-richtext'))
                        .some(el => el.textContent === text)""",
        arg=text,
    )


def wait_until_loaded(page: Page) -> None:
    """Until the editor has its annotation and no loading overlay (`.lsf-label-view_loading`
    greys the editor out and makes it ignore the mouse)."""
    page.get_by_role("button", name="Submit current annotation").wait_for()
    page.wait_for_function(
        "() => !document.querySelector('.lsf-label-view_loading, .lsf-label-view__waiting')"
    )


def richtext(page: Page, layout: PageLayout, name: str = "text") -> Locator:
    return page.locator(".lsf-htx-richtext").nth(layout.texts[name])


# ---- what the page shows ------------------------------------------------------------------------

_LABEL_TEXTS_JS = "els => els.map(e => e.textContent)"
_CHOICE_TEXTS_JS = """els => els.map(e => {
    const c = e.querySelector('label').cloneNode(true);
    c.querySelectorAll('.lsf-hint').forEach(h => h.remove());
    return c.textContent.trim();
})"""


def label_chips(page: Page, layout: PageLayout, control: str) -> list[str]:
    group = page.locator(".lsf-labels").nth(layout.labels[control])
    texts: list[str] = group.locator(".lsf-label__text").evaluate_all(_LABEL_TEXTS_JS)
    return texts


def choices(page: Page) -> list[str]:
    texts: list[str] = page.locator(".lsf-choice").evaluate_all(_CHOICE_TEXTS_JS)
    return texts


def headings(page: Page) -> list[str]:
    """The texts of the config's `<Header>` tags, as shown."""
    tags = ", ".join(f".lsf-main-view h{n}" for n in range(1, 7))
    return [t.strip() for t in page.locator(tags).all_inner_texts()]


def task_list_name(page: Page) -> str:
    """What the task list beside the editor shows for the open task: its first data column."""
    cells = page.locator(".lsf-table__row-wrapper_selected div.lsf-table__cell")
    cells.first.wait_for()
    texts = [t.strip() for t in cells.all_text_contents()]
    return next((t for t in texts if t and not t.isdigit()), "")


@dataclass(frozen=True)
class Highlight:
    region_id: str
    text: str  # the words really highlighted on the page
    label: str


_HIGHLIGHTS_JS = r"""el => {
    const byRegion = new Map();
    for (const span of el.querySelectorAll('span.htx-highlight')) {
        const cls = Array.from(span.classList).find(c => /^htx-highlight-.+-\d+$/.test(c));
        if (!cls) continue;
        // a region split around another region's span: keep only its outermost pieces
        if (span.parentElement.closest('.' + CSS.escape(cls))) continue;
        const id = cls.slice('htx-highlight-'.length).replace(/-\d+$/, '');
        const entry = byRegion.get(id) || {id, text: '', label: ''};
        entry.text += span.textContent;
        if (span.dataset.label) entry.label = span.dataset.label.replace(/^\d+:/, '');
        byRegion.set(id, entry);
    }
    return Array.from(byRegion.values());
}"""


def highlights(text_element: Locator) -> dict[str, Highlight]:
    """Every region highlighted in this text, by region id, with the words it covers."""
    raw: list[dict[str, str]] = text_element.evaluate(_HIGHLIGHTS_JS)
    return {h["id"]: Highlight(h["id"], h["text"], h["label"]) for h in raw}


def wait_for_highlights(page: Page, layout: PageLayout, count: int, name: str = "text") -> None:
    """Until the text shows `count` regions (the element is looked up each time: Label Studio
    re-renders it once the annotation has loaded)."""
    page.wait_for_function(
        """([index, n]) => {
            const el = document.querySelectorAll('.lsf-htx-richtext')[index];
            return !!el && el.querySelectorAll('span.htx-highlight').length >= n;
        }""",
        arg=[layout.texts[name], count],
    )


def instructions_text(page: Page) -> str:
    """Open the Instructions dialog, read it, close it."""
    page.get_by_role("button", name="Instructions").click()
    body = page.locator(".lsf-modal-ls_visible .lsf-modal-ls__body")
    body.wait_for()
    text = body.inner_text()
    close_dialog(page)
    return text


def close_dialog(page: Page) -> None:
    """Close the dialog in front (the instructions open by themselves in the label stream)."""
    dialog = page.locator(".lsf-modal-ls_visible")
    dialog.get_by_role("button", name="Close modal").click()
    dialog.wait_for(state="detached")


def box(locator: Locator) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not visible"
    return found


def style(locator: Locator) -> dict[str, str]:
    got: dict[str, str] = locator.evaluate(
        """el => {
            const s = getComputedStyle(el);
            return {color: s.color, fontSize: s.fontSize, background: s.backgroundColor};
        }"""
    )
    return got


# ---- what a person does -------------------------------------------------------------------------

# Code points → a DOM Range over the element's text nodes → where the mouse must press and release:
# a quarter into the first character and three quarters into the last, so the caret lands on the
# character boundaries whatever their width.
_SPAN_POINTS_JS = """([el, start, end]) => {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    const nodes = [];
    for (let n = walker.nextNode(); n; n = walker.nextNode()) nodes.push(n);
    const full = nodes.map(n => n.data).join('');
    const cps = Array.from(full);
    const units = cp => cps.slice(0, cp).join('').length;
    const at = (offset) => {
        let seen = 0;
        for (const node of nodes) {
            if (offset < seen + node.data.length) return [node, offset - seen];
            seen += node.data.length;
        }
        throw new Error('offset ' + offset + ' is past the end of the text');
    };
    const charRect = (cp) => {
        const [node, off] = at(units(cp));
        const r = document.createRange();
        r.setStart(node, off);
        r.setEnd(node, off + cps[cp].length);
        return r.getBoundingClientRect();
    };
    const first = charRect(start), last = charRect(end - 1);
    return {
        selected: cps.slice(start, end).join(''),
        x1: first.left + first.width / 4, y1: first.top + first.height / 2,
        x2: last.right - last.width / 4, y2: last.top + last.height / 2,
    };
}"""


def drag_select(text_element: Locator, start: int, end: int) -> str:
    """Press the mouse on the first character of [start, end) and release it on the last."""
    page = text_element.page
    text_element.scroll_into_view_if_needed()
    points: dict[str, Any] = page.evaluate(
        _SPAN_POINTS_JS, [text_element.element_handle(), start, end]
    )
    page.mouse.move(points["x1"], points["y1"])
    page.mouse.down()
    page.mouse.move((points["x1"] + points["x2"]) / 2, (points["y1"] + points["y2"]) / 2, steps=4)
    page.mouse.move(points["x2"], points["y2"], steps=4)
    page.mouse.up()
    return str(points["selected"])


def click_label(page: Page, layout: PageLayout, control: str, label: str) -> None:
    group = page.locator(".lsf-labels").nth(layout.labels[control])
    name = page.locator(".lsf-label__text", has_text=re.compile(f"^{re.escape(label)}$"))
    group.locator(".lsf-label").filter(has=name).click()


def mark_span(
    page: Page, layout: PageLayout, control: str, label: str, start: int, end: int
) -> Highlight:
    """Pick a label chip, drag over [start, end) of the sentence; the new highlight."""
    page.keyboard.press("Escape")  # nothing selected: a chip click must not relabel a region
    sentence = richtext(page, layout)
    before = highlights(sentence)
    click_label(page, layout, control, label)
    selected = drag_select(sentence, start, end)
    wait_for_highlights(page, layout, len(before) + 1)
    new = [h for rid, h in highlights(sentence).items() if rid not in before]
    assert len(new) == 1, f"dragging over {selected!r} made {len(new)} regions"
    page.keyboard.press("Escape")
    return new[0]


def highlight_locator(page: Page, region_id: str) -> Locator:
    return page.locator(f"span.htx-highlight[class*='htx-highlight-{region_id}-']").first


def relate(page: Page, from_region: str, to_region: str) -> None:
    """Select the trigger's words, press "Create Relation", click the argument's words."""
    page.keyboard.press("Escape")
    highlight_locator(page, from_region).click()
    page.get_by_role("button", name="Create Relation").click()
    highlight_locator(page, to_region).click()
    page.keyboard.press("Escape")


def relation_roles(page: Page, argument_label: str, role: str | None = None) -> list[str]:
    """In the Relations panel, open the relation to the argument labelled `argument_label`,
    list the roles offered and pick `role`."""
    page.locator(".lsf-panel-tabs__tab", has_text="Relations").first.click()
    item = page.locator(".lsf-relations__item").filter(
        has=page.locator(".lsf-labels-list", has_text=re.compile(f"^{re.escape(argument_label)}$"))
    )
    item.hover()
    show = item.get_by_role("button", name="Show Relation Labels")
    if show.count():
        show.click()
    item.locator(".lsf-relation-meta button").click()
    options = page.locator("[data-testid^='select-option-'] [data-testid='select-option-label']")
    options.first.wait_for()
    offered = [t.strip() for t in options.all_inner_texts()]
    if role is not None:
        page.locator(f"[data-testid='select-option-{role}']").click()
    page.keyboard.press("Escape")
    page.locator("[data-testid='select-popup']").wait_for(state="detached")
    return offered


def choose(page: Page, value: str) -> None:
    page.locator(".lsf-choice").filter(has=page.locator(f"input[name='{value}']")).locator(
        "label"
    ).click()


def _saves_annotation(page: Page, button: Locator) -> dict[str, Any]:
    """Click a button that saves an annotation; the annotation the server stored."""
    with page.expect_response(
        lambda r: (
            r.request.method == "POST"
            and re.search(r"/api/tasks/\d+/annotations", r.url) is not None
        )
    ) as response:
        button.click()
    assert response.value.ok, f"saving the annotation failed: {response.value.status}"
    saved: dict[str, Any] = response.value.json()
    return saved


def submit(page: Page) -> dict[str, Any]:
    return _saves_annotation(page, page.get_by_role("button", name="Submit current annotation"))


def skip(page: Page) -> dict[str, Any]:
    """The Skip button (shown in the label stream, `/projects/<id>/data?labeling=1`)."""
    return _saves_annotation(page, page.get_by_role("button", name="Skip"))


def visible_text(html: str) -> str:
    """HTML as the words it shows, whitespace removed (layout differs, words must not)."""
    import html as html_lib

    return re.sub(r"\s+", "", html_lib.unescape(re.sub(r"<[^>]+>", " ", html)))
