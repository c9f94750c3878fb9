// The feedback form's hidden "outbox" field: how many captures wait on this phone for this user, read from the
// field kit's IndexedDB when the form opens (so a report about lost notes says whether they are still queued).
import { createElement, useEffect, useState } from "react";
import { outboxOf } from "../fieldkit/db.js";

export function OutboxField({ user }) {
  const [state, setState] = useState("unknown");
  useEffect(() => {
    let live = true;
    outboxOf(user)
      .then((items) => live && setState(items.length ? `${items.length} pending` : "empty"))
      .catch(() => live && setState("unavailable"));
    return () => { live = false; };
  }, [user]);
  return createElement("input", { type: "hidden", name: "outbox", value: state, "data-outbox": state });
}
