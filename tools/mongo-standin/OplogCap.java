import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.QueryParameters;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.NoopOplog;

import java.util.Iterator;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Caps the stand-in's oplog at a number of entries, as a replica set caps its oplog by size.
 *
 * mongo-java-server keeps every oplog entry, and each change-stream read scans all of them, so an
 * uncapped oplog makes every read, and every write waiting on the same lock, slower as a run goes on.
 * Every write to a watched collection wakes its change streams, each of which then scans the
 * whole oplog, so the cap is small: 5,000 entries of the watched collections (WatchedOplog
 * records no others) are several seconds of a busy run. A change stream resuming from a
 * trimmed entry continues from the oldest one kept; hookrelay's sweep covers events that were
 * trimmed before the dispatcher read them.
 */
final class OplogCap {

    private static final long TRIM_EVERY_MS = 500;

    private final MongoBackend backend;
    private final int maxEntries;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "standin-oplog-cap");
        t.setDaemon(true);
        return t;
    });

    OplogCap(MongoBackend backend, int maxEntries) {
        this.backend = backend;
        this.maxEntries = maxEntries;
    }

    void start() {
        timer.scheduleWithFixedDelay(this::trimQuietly, TRIM_EVERY_MS, TRIM_EVERY_MS, TimeUnit.MILLISECONDS);
    }

    /** Lets a trim in progress finish: interrupting H2's file I/O would close its store. */
    void stop() {
        timer.shutdown();
        try {
            timer.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void trimQuietly() {
        try {
            trim();
        } catch (RuntimeException e) {
            System.err.println("MongoStandin: oplog trim failed: " + e);
        }
    }

    @SuppressWarnings("unchecked")
    private void trim() {
        MongoCollection<?> oplog = WatchedOplog.storedOplog(backend);
        if (oplog == null) return;
        int excess = oplog.count() - maxEntries;
        if (excess <= 0) return;
        // The timestamp of the oldest entry to keep; everything before it goes.
        Document oldestKept = new Document("query", new Document()).append("orderby", new Document("ts", 1));
        Iterator<Document> it = oplog.handleQuery(new QueryParameters(oldestKept, excess, 1)).iterator();
        if (!it.hasNext()) return;
        Object threshold = it.next().get("ts");
        oplog.deleteDocuments(new Document("ts", new Document("$lt", threshold)), 0, NoopOplog.get());
    }
}
