'use strict';
// Preloaded (node --require) into the hookrelay processes the bench starts. It changes
// nothing hookrelay does; it only lets the bench ask, over the IPC channel:
//  - how many MongoDB collection calls the process made, by collection and method
//    (a counter wrapped around the driver's Collection methods: no measurable cost);
//  - the main thread's event-loop utilization and the V8 heap size.
// It also stops the process when the bench goes away (IPC channel closed).
const { performance } = require('node:perf_hooks');

const mongoCalls = {};
let depth = 0;
const { Collection } = require('mongodb');
const METHODS = [
  'insertOne', 'insertMany', 'updateOne', 'updateMany', 'replaceOne', 'findOneAndUpdate', 'bulkWrite',
  'deleteOne', 'deleteMany', 'findOne', 'find', 'countDocuments', 'aggregate', 'distinct', 'watch',
];
for (const method of METHODS) {
  const original = Collection.prototype[method];
  if (typeof original !== 'function') continue;
  Collection.prototype[method] = function countedCall(...args) {
    // findOne calls find, countDocuments calls aggregate: count the outer call only.
    if (depth === 0) {
      const key = `${this.collectionName}.${method}`;
      mongoCalls[key] = (mongoCalls[key] || 0) + 1;
    }
    depth++;
    try {
      return original.apply(this, args);
    } finally {
      depth--;
    }
  };
}

if (process.send) {
  process.on('message', (message) => {
    if (!message || message.type !== 'bench:probe') return;
    const elu = performance.eventLoopUtilization();
    const memory = process.memoryUsage();
    process.send({
      type: 'bench:probe',
      id: message.id,
      mongoCalls: { ...mongoCalls },
      eventLoop: { activeMs: elu.active, idleMs: elu.idle },
      memory: { heapUsed: memory.heapUsed, heapTotal: memory.heapTotal, external: memory.external, rss: memory.rss },
    });
  });
  process.on('disconnect', () => {
    process.kill(process.pid, 'SIGTERM');
    setTimeout(() => process.exit(1), 15_000).unref();
  });
  // The channel must not keep hookrelay alive once its roles have stopped.
  process.channel.unref();
}
