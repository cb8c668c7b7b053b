import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.Cursor;
import de.bwaldvogel.mongo.backend.aggregation.Aggregation;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.Oplog;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Records in the oplog only the writes a change stream can ask for: those to a collection a
 * change stream has been opened on.
 *
 * mongo-java-server answers every change-stream read by scanning the whole oplog, and the
 * entries of other collections are the costly ones to skip (their namespace is split into new
 * strings for each read). hookrelay watches one collection and writes to several, so most of
 * that scan, and most of the garbage the stand-in's collector pauses for, was entries no
 * stream would return. A real replica set records every write and reads from where a stream
 * left off; neither cost exists there.
 *
 * A stream resuming after a restart of a file-backed stand-in must find the writes made
 * before it reopened: the namespaces found in the stored oplog are recorded from the start.
 */
final class WatchedOplog implements Oplog {

    private final Oplog oplog;
    /**
     * Full names ("db.collection") of the collections watched. mongo-java-server serves no
     * database-wide streams (they see only drops), so there is nothing more to record for them.
     */
    private final Set<String> watched = ConcurrentHashMap.newKeySet();

    WatchedOplog(Oplog oplog, MongoBackend backend) {
        this.oplog = oplog;
        MongoCollection<?> stored = storedOplog(backend);
        if (stored != null) {
            stored.queryAllAsStream().map(entry -> entry.get("ns")).filter(String.class::isInstance)
                .forEach(ns -> watched.add((String) ns));
        }
    }

    /** The backend's oplog collection, or null before anything was recorded in it. */
    static MongoCollection<?> storedOplog(MongoBackend backend) {
        return backend.resolveDatabase("local").resolveCollection("oplog.rs", false);
    }

    private boolean records(String namespace) {
        return watched.contains(namespace);
    }

    @Override
    public void handleInsert(String namespace, List<Document> documents) {
        if (records(namespace)) oplog.handleInsert(namespace, documents);
    }

    @Override
    public void handleUpdate(String namespace, Document selector, Document query, List<Object> modifiedIds) {
        if (records(namespace)) oplog.handleUpdate(namespace, selector, query, modifiedIds);
    }

    @Override
    public void handleDelete(String namespace, Document query, List<Object> deletedIds) {
        if (records(namespace)) oplog.handleDelete(namespace, query, deletedIds);
    }

    @Override
    public void handleDropCollection(String namespace) {
        oplog.handleDropCollection(namespace); // invalidates the streams on it
    }

    @Override
    public Cursor createCursor(Document changeStream, String namespace, Aggregation aggregation) {
        watched.add(namespace);
        return oplog.createCursor(changeStream, namespace, aggregation);
    }
}
