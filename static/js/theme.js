// The colour theme chosen in the account menu ("chat.theme": light or dark; absent follows
// the system). A classic script in <head>, so it applies before the first paint: the
// Content-Security-Policy forbids inline script. app.js changes it later.
(function () {
  try {
    var theme = localStorage.getItem("chat.theme");
    if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
  } catch (e) {
    /* storage blocked: the system's theme */
  }
})();
