// The enroll frame has no session yet (it receives no third-party cookie).
// Ask the partner's planner page, the top window on this very origin, for a
// single-use enrollment ticket of the shopper signed in there; redeem it with
// a form post. The planner page acknowledges the request at once and sends the
// ticket when the server has made it: without an acknowledgement in waitMs (no
// planner page of ours up there), or a ticket in ticketWaitMs after it, sign in
// inside the frame instead.
(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('kzlink-handshake').textContent);
  var form = document.getElementById('kzlink-ticket-form');
  var ownOrigin = window.location.origin;
  var settled = false;
  var timer = null;

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

  function waitFor(ms) {
    window.clearTimeout(timer);
    timer = window.setTimeout(signInHere, ms);
  }

  window.addEventListener('message', function (event) {
    var data = event.data;
    if (event.origin !== ownOrigin || event.source !== window.top || !data) {
      return;
    }
    if (data.name === 'kzlink:ticketPending') {
      waitFor(config.ticketWaitMs);
    } else if (data.name === 'kzlink:ticket') {
      if (typeof data.ticket === 'string' && data.ticket) {
        redeem(data.ticket);
      } else {
        signInHere();
      }
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
  waitFor(config.waitMs);
})();
