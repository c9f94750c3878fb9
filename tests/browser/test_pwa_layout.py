"""Every interactive element of every screen of every role (pwa/routes.py PLACES, the records from the served
database), in both languages at 390×844: none under 44×44 px, and nothing scrolls sideways."""

from __future__ import annotations

from typing import Any

import pytest

from pwa.app import NAV
from pwa.routes import PLACES
from tests.support.demo import Server

pytestmark = pytest.mark.browser
TAP = 44
PEOPLE = {"agent": "lina", "project_manager": None, "legal": "zhangwei", "finance": "chenjing",
          "branch_manager": "wangqiang", "executive": "liumin", "admin": "admin"}
RECORDS = {"client": "SELECT id FROM clients WHERE owner = ? LIMIT 1",
           "project": "SELECT id FROM projects WHERE owner = ? OR id IN (SELECT project FROM project_milestones "
                      "WHERE owner = ?) OR branch = (SELECT branch FROM users WHERE id = ?) LIMIT 1",
           "visit": "SELECT id FROM visits WHERE owner = ? LIMIT 1"}
# Too small, or wider than the screen: [{tag, id, cls, text, w, h}] of visible targets (a checkbox or radio is
# measured by the label that holds it, which is what a thumb presses; a file input a visible button opens is not a
# target).
MEASURE = """() => {
  const out = [];
  const seen = new Set();
  const targets = 'a[href], button, input:not([type=hidden]), select, textarea, ' +
    '[role=button], [role=checkbox], summary';
  for (const el of document.querySelectorAll(targets)) {
    let target = el;
    if (el.matches('input[type=checkbox], input[type=radio]') && el.closest('label')) target = el.closest('label');
    if (el.matches('input[type=file][tabindex="-1"]')) continue;  // opened by its visible button
    if (seen.has(target)) continue;
    seen.add(target);
    const box = target.getBoundingClientRect();
    const style = getComputedStyle(target);
    if (!box.width || !box.height || style.visibility === 'hidden') continue;
    if (box.width < 44 || box.height < 44) out.push({tag: target.tagName, id: target.id, cls: target.className,
      text: (target.innerText || target.value || '').slice(0, 30), w: Math.round(box.width),
      h: Math.round(box.height)});
  }
  return {small: out, overflow: document.documentElement.scrollWidth - window.innerWidth};
}"""


def paths_for(served: Server, role: str, user_id: str) -> list[str]:
    paths = [href for _, href, _ in NAV[role]] + ["/inbox"]
    with served.db() as db:
        for place in PLACES:
            if "{id}" not in place.path:
                continue
            sql = RECORDS[place.screen]
            row = db.execute(sql, (user_id,) * sql.count("?")).fetchone()
            if row is not None:
                paths.append(place.path.replace("{id}", row[0]))
    return list(dict.fromkeys(paths))


def username(served: Server, role: str) -> str:
    if PEOPLE[role]:
        return PEOPLE[role]
    with served.db() as db:
        return db.execute("SELECT username FROM users WHERE role = ? AND is_active ORDER BY username LIMIT 1",
                          (role,)).fetchone()[0]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("role", list(NAV))
def test_every_target_is_at_least_44_px_and_nothing_scrolls_sideways(phones: Any, served: Server, role: str,
                                                                     lang: str) -> None:
    phone = phones(lang)
    name = username(served, role)
    phone.sign_in(name)
    problems: dict[str, Any] = {}
    for path in paths_for(served, role, served.user_id(name)):
        page = phone.open(path)
        measured = page.evaluate(MEASURE)
        if measured["small"] or measured["overflow"] > 0:
            problems[path] = {"overflow_px": measured["overflow"], "small": sorted(
                {f"{e['tag']}.{e['cls']}#{e['id']} {e['w']}x{e['h']}" for e in measured["small"]})}
        phone.screenshot(f"layout-{role}-{path.strip('/').replace('/', '-')[:20] or 'home'}-{lang}")
    assert not problems, "\n".join(f"{path}: {found}" for path, found in problems.items())
