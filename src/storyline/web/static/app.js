// Storyline web app: the ingest progress page and the source viewer. No dependencies.
"use strict";

(function jobProgress() {
  const box = document.getElementById("job");
  if (!box) return;
  const id = box.dataset.job;
  const show = (job) => {
    const bar = document.getElementById("job-progress");
    bar.max = Math.max(job.total, 1);
    bar.value = job.done;
    document.getElementById("job-count").textContent = `${job.done} of ${job.total}`;
    document.getElementById("job-stage").textContent = job.stage;
    const errors = document.getElementById("job-errors");
    errors.replaceChildren(...job.errors.map((e) => {
      const item = document.createElement("li");
      item.textContent = `${e.origin}: ${e.error}`;
      return item;
    }));
    const message = document.getElementById("job-message");
    message.hidden = !job.message;
    message.textContent = job.message || "";
    box.dataset.state = job.state;
    document.getElementById("job-done").hidden = job.state !== "done";
  };
  const poll = async () => {
    try {
      const answer = await fetch(`/api/jobs/${encodeURIComponent(id)}`, {cache: "no-store"});
      if (answer.ok) {
        const job = await answer.json();
        show(job);
        if (job.state === "done" && job.errors.length === 0) {
          window.location.assign(`/stories/${job.story}`);
          return;
        }
        if (job.state === "done" || job.state === "failed") return;
      }
    } catch (error) { /* the server may be restarting: keep polling */ }
    window.setTimeout(poll, 500);
  };
  if (box.dataset.state !== "done" && box.dataset.state !== "failed") poll();
})();

(function sourceViewer() {
  const text = document.getElementById("source-text");
  if (!text) return;
  // Choose a span: ?start=&end= is drawn by the server; a fragment "#120-300" or "#S3-120-300"
  // (end optional, as the report's anchors "#S3-120") is resolved here.
  const choose = (mark) => {
    text.querySelectorAll("mark.current").forEach((m) => m.classList.remove("current"));
    const {start, end} = mark.dataset;
    text.querySelectorAll(`mark[data-start="${start}"][data-end="${end}"]`)
      .forEach((m) => m.classList.add("current"));
    mark.scrollIntoView({block: "center"});
  };
  const fromFragment = () => {
    const found = /(?:^|-)(\d+)(?:-(\d+))?$/.exec(decodeURIComponent(window.location.hash.slice(1)));
    if (!found || window.location.hash === "#current") return;
    const selector = found[2] === undefined
      ? `mark[data-start="${found[1]}"]`
      : `mark[data-start="${found[1]}"][data-end="${found[2]}"]`;
    const marks = text.querySelectorAll(selector);
    if (marks.length === 1) {
      choose(marks[0]);
    } else if (found[2] !== undefined) {
      // Not cited here, or cut by a crossing span: let the server draw it whole.
      const address = new URL(window.location.href);
      address.searchParams.set("start", found[1]);
      address.searchParams.set("end", found[2]);
      address.hash = "current";
      window.location.replace(address.toString());
    } else if (marks.length > 1) {
      choose(marks[0]);
    }
  };
  text.addEventListener("click", (event) => {
    const mark = event.target.closest("mark.cite");
    if (!mark) return;
    history.replaceState(null, "", `#${mark.dataset.start}-${mark.dataset.end}`);
    choose(mark);
  });
  window.addEventListener("hashchange", fromFragment);
  const current = document.getElementById("current");
  if (current) current.scrollIntoView({block: "center"});
  else fromFragment();
})();
