import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.wire.message.MessageHeader;
import de.bwaldvogel.mongo.wire.message.MongoMessage;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Gives change-stream getMores MongoDB's awaitData behaviour.
 *
 * mongo-java-server answers a getMore on a change stream at once, even when nothing is new, and
 * the driver then asks again immediately: an idle stream polls thousands of times a second, each
 * poll scanning the oplog under the collection lock. Here an empty getMore on a live cursor is
 * parked instead (without blocking the event loop) and retried when a write reaches the watched
 * namespace, or answered empty once its maxTimeMS (default 1 s, as in MongoDB) has passed.
 *
 * One instance per connection; the set of parked getMores is shared by all connections.
 */
final class AwaitDataHandler extends ChannelInboundHandlerAdapter {

    private static final long DEFAULT_AWAIT_MS = 1000;
    private static final Set<String> WRITE_COMMANDS = Set.of(
        "insert", "update", "delete", "findandmodify", "drop", "dropdatabase", "renamecollection", "create");

    private final MongoBackend backend;
    private final Set<Parked> parked;
    private final AtomicInteger responseIds;

    AwaitDataHandler(MongoBackend backend, Set<Parked> parked, AtomicInteger responseIds) {
        this.backend = backend;
        this.parked = parked;
        this.responseIds = responseIds;
    }

    static Set<Parked> newRegistry() {
        return ConcurrentHashMap.newKeySet();
    }

    /** A getMore waiting for its namespace to change. Touched only on its channel's event loop. */
    static final class Parked {
        final ChannelHandlerContext ctx;
        final MongoMessage request;
        final String database;
        final String collection;
        final AtomicBoolean retryQueued = new AtomicBoolean();
        ScheduledFuture<?> deadline;
        boolean done;

        Parked(ChannelHandlerContext ctx, MongoMessage request) {
            this.ctx = ctx;
            this.request = request;
            this.database = request.getDatabaseName();
            this.collection = String.valueOf(request.getDocument().get("collection"));
        }

        boolean watches(String writtenDatabase, String writtenCollection, String command) {
            if (!database.equals(writtenDatabase)) return false;
            // Database-wide streams report "$cmd.aggregate"; drops invalidate every stream on the database.
            return collection.startsWith("$cmd") || collection.equals(writtenCollection)
                || command.equals("dropdatabase") || command.equals("drop");
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof MongoMessage message)) {
            ctx.fireChannelRead(msg);
            return;
        }
        Document body = message.getDocument();
        String command = body.isEmpty() ? "" : body.keySet().iterator().next().toLowerCase();
        if (command.equals("getmore")) {
            handleGetMore(ctx, message);
            return;
        }
        ctx.fireChannelRead(msg); // handled synchronously by MongoDatabaseHandler: the write is done on return
        if (WRITE_COMMANDS.contains(command)) {
            wakeWatchers(message.getDatabaseName(), String.valueOf(body.values().iterator().next()), command);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        parked.removeIf(p -> {
            if (p.ctx.channel() != ctx.channel()) return false;
            p.done = true;
            if (p.deadline != null) p.deadline.cancel(false);
            return true;
        });
        super.channelInactive(ctx);
    }

    private void handleGetMore(ChannelHandlerContext ctx, MongoMessage request) {
        // Parked before the first read, so a write finishing meanwhile still wakes it: one
        // oplog scan when something is there, and no write missed when nothing is.
        Parked p = new Parked(ctx, request);
        parked.add(p);
        p.deadline = ctx.executor().schedule(() -> retry(p, true), awaitMillis(request.getDocument()), TimeUnit.MILLISECONDS);
        retry(p, false);
    }

    private void wakeWatchers(String database, String collection, String command) {
        for (Parked p : parked) {
            if (p.watches(database, collection, command)) queueRetry(p);
        }
    }

    /** Coalesces a burst of writes into one retry on the parked getMore's own event loop. */
    private void queueRetry(Parked p) {
        if (p.retryQueued.compareAndSet(false, true)) {
            try {
                p.ctx.executor().execute(() -> {
                    p.retryQueued.set(false);
                    retry(p, false);
                });
            } catch (RejectedExecutionException e) {
                p.retryQueued.set(false); // shutting down: its connection is closing anyway
            }
        }
    }

    private void retry(Parked p, boolean deadlinePassed) {
        if (p.done) return;
        Document response;
        try {
            response = backend.handleMessage(p.request);
        } catch (RuntimeException e) {
            finish(p);
            p.ctx.fireChannelRead(p.request);
            return;
        }
        if (deadlinePassed || !isEmptyLiveBatch(response)) {
            finish(p);
            reply(p.ctx, p.request, response);
        }
    }

    private void finish(Parked p) {
        p.done = true;
        parked.remove(p);
        if (p.deadline != null) p.deadline.cancel(false);
    }

    private void reply(ChannelHandlerContext ctx, MongoMessage request, Document response) {
        MessageHeader header = new MessageHeader(responseIds.incrementAndGet(), request.getHeader().getRequestID());
        ctx.writeAndFlush(new MongoMessage(request.getChannel(), header, response));
    }

    private static long awaitMillis(Document getMore) {
        Object value = getMore.get("maxTimeMS");
        return value instanceof Number n && n.longValue() > 0 ? n.longValue() : DEFAULT_AWAIT_MS;
    }

    private static boolean isEmptyLiveBatch(Document response) {
        if (!(response.get("cursor") instanceof Document cursor)) return false;
        Object id = cursor.get("id");
        return cursor.get("nextBatch") instanceof List<?> batch && batch.isEmpty()
            && id instanceof Number n && n.longValue() != 0;
    }
}
