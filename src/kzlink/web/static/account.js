// After an unlink, tell the planner pages open in this browser to drop the
// token they gave the widget.
(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('kzlink-account').textContent);
  if (config.unlinked && 'BroadcastChannel' in window) {
    var channel = new BroadcastChannel('kzlink');
    channel.postMessage({ name: 'unlinked' });
    channel.close();
  }
})();
