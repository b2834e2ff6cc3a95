// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// node --perf-basic-prof --interpreted-frames-native-stack leak_node.js -p PORT:
// a client-side CLOSE_WAIT leak in JavaScript, for `tcplinger leaks` on JIT
// code.  dialAndForget() connects to a server in the same process, which
// closes at once; the client keeps its half-open socket and never closes
// it, until a line arrives on stdin.  The perf-map flags make V8 write
// /tmp/perf-PID.map, naming each function's code (interpreted ones too).
// The connect() must run inside dialAndForget, not in a later tick: the
// lookup given answers at once, so net.connect() connects synchronously.
// V8 also writes its own log then (isolate-*.log in the current directory,
// unless --logfile says where).
// Facts: server_port client_port leak_pid leak_fd ready ... done.
'use strict';

const net = require('net');

const argPort = process.argv.indexOf('-p');
const port = argPort > 0 ? Number(process.argv[argPort + 1]) : 5120;

// A resolver that needs no tick: the connect happens in the caller's stack.
function resolveHere(host, opts, cb) {
  if (opts && opts.all)
    cb(null, [{ address: '127.0.0.1', family: 4 }]);
  else
    cb(null, '127.0.0.1', 4);
}

// The bug under test: the socket is never ended nor destroyed.
function dialAndForget(p) {
  const sock = net.connect({ port: p, host: 'leak.invalid', lookup: resolveHere,
                             allowHalfOpen: true, autoSelectFamily: false });
  sock.on('connect', () => {
    console.log('client_port=' + sock.localPort);
    console.log('leak_fd=' + sock._handle.fd);
  });
  // The server's FIN has been read: the socket is in CLOSE_WAIT.
  sock.on('end', () => console.log('ready=1'));
  sock.resume();
  return sock;
}

const server = net.createServer((conn) => conn.destroy());
const kept = [];
server.listen(port, '127.0.0.1', () => {
  console.log('server_port=' + port);
  console.log('leak_pid=' + process.pid);
  kept.push(dialAndForget(port));
});
process.stdin.once('data', () => {
  console.log('done=1');
  process.exit(0);	// closes the leak
});
