// The visit pages: code pickers that suggest codes as one types, the
// focus on a refused form's message, and the summary's print button.
(function () {
  "use strict";
  function debounce(fn, ms) {
    var t;
    return function () {
      var args = arguments, self = this;
      clearTimeout(t);
      t = setTimeout(function () { fn.apply(self, args); }, ms);
    };
  }
  document.querySelectorAll("input[data-picker]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    if (!list) { return; }
    var last = "";
    input.addEventListener("input", debounce(function () {
      // Search with the last code of a comma-separated list.
      var q = input.value.split(",").pop().trim();
      if (q.length < 2 || q === last) { return; }
      last = q;
      fetch(input.dataset.picker + "?q=" + encodeURIComponent(q), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) {
          var doc = new DOMParser().parseFromString("<datalist>" + html + "</datalist>", "text/html");
          list.replaceChildren.apply(list, Array.prototype.slice.call(doc.querySelectorAll("option")));
        })
        .catch(function () {});
    }, 200));
  });
  var err = document.querySelector(".section-error");
  if (err) {
    var bad = err.closest("section").querySelector("[aria-invalid=true]");
    (bad || err).focus();
  }
  document.querySelectorAll("button[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
})();
