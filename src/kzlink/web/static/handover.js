// The enroll page's last step: give the access token to the widget that framed
// this page, and ask it to close the modal. The message goes to the widget's
// origin only: any other page framing this one receives nothing.
(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('kzlink-handover').textContent);
  var status = document.getElementById('handover-status');

  if (window.parent === window) {
    status.textContent = 'Your Kazaplan account is linked. You can close this page.';
    return;
  }
  window.parent.postMessage({ name: 'newToken', token: config.token }, config.widgetOrigin);
  window.parent.postMessage({ name: 'closeLoginIframe' }, config.widgetOrigin);
})();
