// OpenChart pages' script: signs the browser out after the idle period
// the server gives (body data-idle-seconds), and tells the server about
// activity so that a person working on a long form is not signed out.
(function () {
  "use strict";
  var body = document.body;
  var idle = parseInt(body.getAttribute("data-idle-seconds") || "0", 10);
  if (!idle) {
    return;
  }
  var csrf = body.getAttribute("data-csrf") || "";
  var timer = null;
  var lastPing = Date.now();

  function signOut() {
    var f = document.createElement("form");
    f.method = "post";
    f.action = "/logout";
    [["csrf", csrf], ["reason", "idle"]].forEach(function (kv) {
      var i = document.createElement("input");
      i.type = "hidden";
      i.name = kv[0];
      i.value = kv[1];
      f.appendChild(i);
    });
    body.appendChild(f);
    f.submit();
  }

  function restart() {
    if (timer) {
      clearTimeout(timer);
    }
    timer = setTimeout(signOut, idle * 1000);
  }

  // Activity keeps the server-side session alive too, at most once per
  // quarter of the idle period.
  function activity() {
    restart();
    var now = Date.now();
    if (now - lastPing > (idle * 1000) / 4) {
      lastPing = now;
      fetch("/session/alive", { credentials: "same-origin", cache: "no-store" }).then(function (r) {
        if (r.status !== 204) {
          signOut();
        }
      }).catch(function () {});
    }
  }

  ["keydown", "mousedown", "touchstart", "input"].forEach(function (ev) {
    document.addEventListener(ev, activity, { passive: true });
  });
  restart();
})();
