// riskdesk: small progressive enhancements. Pages work without this file.
(function () {
  "use strict";
  // Forms with data-confirm ask before they submit.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // A table wider than its box scrolls sideways: such a box takes the keyboard focus
  // (Tab, then the arrow keys scroll it); one that fits does not stop Tab.
  function scrollables() {
    document.querySelectorAll(".table-wrap, .worklist-scroll").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1;
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("data-scroll-focus", "");
      } else if (!scrolls && box.hasAttribute("data-scroll-focus")) {
        box.removeAttribute("tabindex");
        box.removeAttribute("data-scroll-focus");
      }
    });
  }
  scrollables();
  var resizing = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(scrollables, 150);
  });

  // The workspace list: countdowns that tick, a body that refreshes in place, and
  // keyboard shortcuts (j/k move, Enter opens, n takes the next case).
  // The supervisor's board refreshes and ticks the same way.
  var body = document.getElementById("worklist-body") || document.getElementById("board-body");
  if (!body) return;
  var selected = null; // the data-ref of the selected row

  function pad(n) { return n < 10 ? "0" + n : String(n); }
  // The same format as the server's: H:MM:SS, "-" once overdue.
  function format(seconds) {
    var sign = seconds < 0 ? "-" : "";
    var s = Math.abs(seconds);
    return sign + Math.floor(s / 3600) + ":" + pad(Math.floor((s % 3600) / 60)) + ":" + pad(s % 60);
  }
  // The offset of this browser's clock from the server's, taken from the list's
  // data-now each time the list is (re)loaded: a skewed PC clock moves no deadline.
  var skew = 0;
  function sync() {
    var table = body.querySelector("[data-now]");
    var server = table ? Date.parse(table.getAttribute("data-now")) : NaN;
    skew = isNaN(server) ? 0 : server - Date.now();
  }
  function tick() {
    var now = Date.now() + skew;
    var items = body.querySelectorAll("time.countdown[data-due]");
    for (var i = 0; i < items.length; i++) {
      var due = Date.parse(items[i].getAttribute("data-due"));
      if (isNaN(due)) continue;
      var left = Math.round((due - now) / 1000);
      items[i].textContent = format(left);
      var row = items[i].closest("tr");
      if (left < 0 && row && !row.classList.contains("sla-red")) {
        row.classList.remove("sla-green", "sla-amber");
        row.classList.add("sla-red");
      }
    }
  }
  function rows() { return Array.prototype.slice.call(body.querySelectorAll("tr.worklist-row")); }
  function mark() {
    rows().forEach(function (r) {
      var on = r.getAttribute("data-ref") === selected;
      r.classList.toggle("selected", on);
      if (on) r.setAttribute("aria-selected", "true"); else r.removeAttribute("aria-selected");
    });
  }
  function move(step) {
    var all = rows();
    if (!all.length) return;
    var at = -1;
    for (var i = 0; i < all.length; i++) if (all[i].getAttribute("data-ref") === selected) at = i;
    var next = at < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, at + step));
    selected = all[next].getAttribute("data-ref");
    mark();
    all[next].scrollIntoView({ block: "nearest" });
  }
  function typing(target) {
    if (!target || !(target instanceof Element)) return false;
    return target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (event.key === "j") { move(1); event.preventDefault(); }
    else if (event.key === "k") { move(-1); event.preventDefault(); }
    else if (event.key === "Enter" && selected) {
      var link = body.querySelector('tr[data-ref="' + selected + '"] a');
      if (link) { window.location.href = link.getAttribute("href"); event.preventDefault(); }
    } else if (event.key === "n") {
      var take = document.getElementById("take-next");
      if (take) { event.preventDefault(); take.submit(); }
    }
  });
  // "Select every case on this page" ticks or clears each row's box.
  body.addEventListener("change", function (event) {
    var all = event.target instanceof Element && event.target.matches("[data-select-page]") ? event.target : null;
    if (!all) return;
    body.querySelectorAll('input[name="refs"]').forEach(function (c) { c.checked = all.checked; });
  });
  body.addEventListener("click", function (event) {
    var row = event.target instanceof Element ? event.target.closest("tr.worklist-row") : null;
    if (row) { selected = row.getAttribute("data-ref"); mark(); }
  });

  // Refresh: fetch the list body alone and swap it in, keeping the selection and
  // the scroll positions of the page and of the table.
  var url = body.getAttribute("data-fragment");
  var every = parseInt(body.getAttribute("data-refresh-seconds"), 10) || 12;
  function refresh() {
    if (!url || document.hidden) return;
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (res) { return res.ok ? res.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var scroller = body.querySelector(".worklist-scroll");
        var inner = scroller ? scroller.scrollTop : 0;
        var x = window.scrollX, y = window.scrollY;
        // Rows ticked for a bulk action stay ticked across the refresh.
        var ticked = {};
        body.querySelectorAll('input[name="refs"]:checked').forEach(function (c) { ticked[c.value] = true; });
        body.innerHTML = html;
        body.querySelectorAll('input[name="refs"]').forEach(function (c) { c.checked = !!ticked[c.value]; });
        sync();
        var fresh = body.querySelector(".worklist-scroll");
        if (fresh) fresh.scrollTop = inner;
        window.scrollTo(x, y);
        scrollables();
        mark();
        tick();
      })
      .catch(function () { /* the next round tries again */ });
  }
  sync();
  tick();
  window.setInterval(tick, 1000);
  if (url) window.setInterval(refresh, every * 1000);
})();
