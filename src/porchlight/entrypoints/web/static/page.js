// Every page: tell the server the viewer's time zone (so times are shown in it, and the
// times typed into forms are read in it); bring the error summary of a form into view.
"use strict";
(function () {
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
  if (!/^[A-Za-z0-9_+\/-]+$/.test(zone)) { zone = ""; }  // IANA names need no escaping
  var cookies = ";" + document.cookie.replace(/ /g, "") + ";";
  if (zone && cookies.indexOf(";pl_tz=" + zone + ";") === -1) {
    var secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = "pl_tz=" + zone + "; Path=/; Max-Age=31536000; SameSite=Lax" + secure;
  }
  document.querySelectorAll("input[name=tz]").forEach(function (field) {
    if (zone) { field.value = zone; }
  });
  document.querySelectorAll("[data-zone-name]").forEach(function (label) {
    if (zone) { label.textContent = zone; }
  });
  var summary = document.querySelector(".error-summary");
  if (summary) { summary.focus(); }
})();
