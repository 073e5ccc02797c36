// The enroll frame has no session yet (it receives no third-party cookie).
// Ask the partner's planner page, the top window on this very origin, for a
// single-use enrollment ticket of the shopper signed in there; redeem it with
// a form post. Without an answer in time, sign in inside the frame instead.
(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('kzlink-handshake').textContent);
  var form = document.getElementById('kzlink-ticket-form');
  var ownOrigin = window.location.origin;
  var settled = false;

  function signInHere() {
    if (settled) { return; }
    settled = true;
    window.location.replace(config.loginUrl);
  }

  function redeem(ticket) {
    if (settled) { return; }
    settled = true;
    form.elements.ticket.value = ticket;
    form.submit();
  }

  window.addEventListener('message', function (event) {
    var data = event.data;
    if (event.origin !== ownOrigin || !data || data.name !== 'kzlink:ticket') {
      return;
    }
    if (typeof data.ticket === 'string' && data.ticket) {
      redeem(data.ticket);
    } else {
      signInHere();
    }
  });

  if (window.top === window) {
    signInHere();
    return;
  }
  try {
    window.top.postMessage({ name: 'kzlink:ticketRequest' }, ownOrigin);
  } catch (error) {
    signInHere();
    return;
  }
  window.setTimeout(signInHere, config.waitMs);
})();
