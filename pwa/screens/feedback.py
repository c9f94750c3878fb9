"""Feedback (issue 14): send what you noticed from any screen (the header's button opens this with the screen's
name; the app revision and the phone's outbox state go along); see your own and the replies; branch managers and
executives triage (accept, decline, done, with a reply), and with admins see the month's most frequent topics."""

from __future__ import annotations

from typing import Any

from reactpy import html, use_state
from reactpy.reactjs import component_from_url

from backend.errors import ServiceError
from backend.feedback import services as feedback
from pwa import assets
from pwa.routes import href
from pwa.ui import (
    App,
    action,
    button,
    card,
    chip,
    empty,
    error_text,
    form,
    form_value,
    guarded,
    query_state,
    use_live,
    use_query,
)

OutboxField = component_from_url(assets.url("app/feedback.js"), "OutboxField")
STATUSES = ("new", "accepted", "done", "declined")
TONES = {"new": "", "accepted": "ok", "done": "plain", "declined": "danger"}


async def load(app: App, status: str) -> dict[str, Any]:
    actor = await app.ensure_actor()
    triager = feedback.can_triage(actor)
    sees_summary = actor.role in ("branch_manager", "executive", "admin")
    listed = await feedback.list_feedback(actor, status=status) if (triager or actor.role == "admin") else []
    return {"mine": [f for f in await feedback.list_feedback(actor, mine=True)],
            "listed": listed, "triager": triager, "overseer": triager or actor.role == "admin",
            "summary": await feedback.monthly_summary(actor) if sees_summary else None}


@guarded
def send_form(app: App, on_sent: Any) -> Any:
    error, set_error = use_state("")
    sent, set_sent = use_state(0)
    live = use_live()
    origin = app.route.param("from")

    async def send(actor: Any, values: Any) -> None:
        try:
            await feedback.submit_feedback(actor, {"text": form_value(values, "text"), "screen": origin,
                                                   "app_revision": assets.revision(),
                                                   "outbox": form_value(values, "outbox")})
        except ServiceError as exc:
            live(set_error)(error_text(app, exc))
            return
        live(set_error)("")
        live(set_sent)(sent + 1)
        app.notify(app.t("feedback.sent"), "ok")
        on_sent()

    return card(
        form(action(app, send),
             html.p({"className": "small muted"}, app.t("feedback.context", screen=app.t(f"screen.{origin}")
                                                        if origin else app.t("feedback.no_screen"))),
             html.p({"className": "message error", "role": "alert", "id": "feedback-error", "data-field": "text"},
                    error) if error else "",
             html.textarea({"className": "input", "name": "text", "rows": 4, "maxLength": 4000, "required": True,
                            "id": "feedback-text", "key": f"text-{sent}", "placeholder": app.t("feedback.placeholder"),
                            "aria-label": app.t("feedback.placeholder")}),
             OutboxField({"user": str(app.actor.id)}),
             html.button({"className": "button", "type": "submit", "id": "send-feedback"}, app.t("feedback.send")),
             className="stack", id="feedback-form"),
        title=app.t("feedback.new"))


def item_head(app: App, item: Any) -> Any:
    return html.div({"className": "spread"},
                    html.span({"className": "small muted"}, app.fmt.datetime(item.created_at), " · ",
                              app.t(f"screen.{item.screen}") if item.screen else "—"),
                    chip(app.t(f"feedback.status_{item.status}"), TONES.get(item.status, ""),
                         **{"data-status": item.status}))


def my_item(app: App, item: Any) -> Any:
    return html.li({"key": str(item.id), "className": "feedback-item", "data-id": str(item.id),
                    "data-status": item.status},
                   item_head(app, item), html.p(item.text),
                   html.p({"className": "message ok feedback-reply"}, app.t("feedback.reply_label"), item.reply)
                   if item.reply else "")


@guarded
def triage_item(app: App, item: Any, on_changed: Any) -> Any:
    error, set_error = use_state("")
    live = use_live()

    def move(status: str) -> Any:
        async def run(actor: Any, values: Any) -> None:
            try:
                await feedback.triage(actor, item.id, item.version, status, form_value(values, "reply"))
            except ServiceError as exc:
                live(set_error)(error_text(app, exc))
                return
            app.notify(app.t("feedback.updated"), "ok")
            on_changed()
        return action(app, run)

    moves = {"new": ("accepted", "declined"), "accepted": ("done", "declined"), "declined": ("accepted",),
             "done": ("accepted",)}[item.status]
    return html.li(
        {"key": f"{item.id}:{item.version}", "className": "feedback-item triage", "data-id": str(item.id),
         "data-status": item.status},
        item_head(app, item),
        html.p(item.text),
        html.p({"className": "small muted"}, f"{item.reporter_name} · {app.t('role.' + item.role)} · ",
               app.t(f"feedback.topic_{item.topic}"), " · ", html.span({"translate": "no"}, item.app_revision),
               f" · {app.t('feedback.outbox')} {item.outbox}" if item.outbox else ""),
        html.p({"className": "message ok feedback-reply"}, app.t("feedback.reply_label"), item.reply)
        if item.reply else "",
        html.p({"className": "message error", "role": "alert"}, error) if error else "",
        *[form(move(target),
               html.input({"className": "input", "name": "reply", "maxLength": 4000,
                           "placeholder": app.t("feedback.reply_placeholder"), "aria-label": app.t("feedback.reply")})
               if i == 0 else "",
               html.button({"className": "button secondary" if target == "declined" else "button", "type": "submit",
                            "data-move": target}, app.t(f"feedback.move_{target}")),
               className="stack triage-form", key=target)
          for i, target in enumerate(moves)] if app.actor.role != "admin" else [],
    )


def summary_card(app: App, summary: Any) -> Any:
    top = summary.topics[:6]
    return card(html.ol({"className": "list", "id": "feedback-summary"}, *[
        html.li({"key": t.topic, "data-topic": t.topic, "className": "spread"},
                html.span(app.t(f"feedback.topic_{t.topic}")), html.strong(str(t.count))) for t in top])
                if top else empty(app.t("feedback.none")),
                title=app.t("feedback.summary", month=summary.month), count=summary.total)


@guarded
def screen(app: App) -> Any:
    status = app.route.param("status", "new")
    status = status if status in STATUSES else "new"
    query = use_query(lambda: load(app, status), status)
    state = query_state(app, query)
    content: list[Any] = [send_form(app, query.reload)]
    if state is not None:
        return html.main({"className": "screen", "id": "feedback"}, *content, state)
    data = query.data
    content.append(card(html.ul({"className": "list", "id": "my-feedback"}, *[my_item(app, f) for f in data["mine"]])
                        if data["mine"] else empty(app.t("feedback.none")),
                        title=app.t("feedback.mine"), count=len(data["mine"])))
    if data["summary"] is not None:
        content.append(summary_card(app, data["summary"]))
    if data["overseer"]:
        tabs = html.div({"className": "tabs", "role": "tablist", "id": "feedback-tabs"}, *[
            button(app.t(f"feedback.status_{s}"),
                   lambda *_, s=s: app.navigate(href("/feedback", status=s, **{"from": app.route.param("from")}),
                                                True),
                   className="", role="tab", key=s, **{"data-status": s, "aria-selected": str(s == status).lower()})
            for s in STATUSES])
        content.append(card(tabs, html.ul({"className": "list", "id": "feedback-triage"},
                                          *[triage_item(app, f, query.reload, key=f"{f.id}:{f.version}")
                                            for f in data["listed"]]) if data["listed"]
                            else empty(app.t("feedback.none")),
                            title=app.t("feedback.triage"), count=len(data["listed"])))
    return html.main({"className": "screen feedback-screen", "id": "feedback"}, *content)
