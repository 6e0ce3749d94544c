// Paying a featured slot by card, on the shared pay step of pay.js (window.AgoraPay): once the card
// is accepted the page reloads, and its status block shows the slot (or polls while it processes).
(function () {
  "use strict";

  var pay = window.AgoraPay;
  var STATUS = "featured-status";

  if (document.getElementById(STATUS) && !pay.htmxUsable()) pay.pollWithoutHtmx(STATUS);
  var box = document.getElementById("card-pay");
  if (box) {
    pay.bindCard(box, "Payment accepted. Your model is featured as soon as Stripe confirms it.", function () {
      window.location.reload();
    });
  }
})();
