import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.backend.memory.MemoryDatabase;
import de.bwaldvogel.mongo.oplog.Oplog;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Launches mongo-java-server as a MongoDB stand-in for tests and local development.
 *
 * Usage: MongoStandin [--host 127.0.0.1] [--port 0] [--backend memory|h2] [--file PATH]
 *                     [--oplog-max-entries 5000] [--ignore-stdin]
 *
 * Prints exactly one line "READY <port>" on stdout once listening (logs go to stderr).
 * Stops gracefully (flushing the H2 store) on SIGTERM/SIGINT and when stdin reaches EOF,
 * so it never outlives the parent process that holds the other end of its stdin pipe.
 * Tests may shift its clock with -Dstandin.clockOffsetMs=N (see OplogSafeClock).
 */
public final class MongoStandin {

    /** The built-in versions report wire version 8; the Node driver 7.x requires at least 9. */
    static final class StandinVersion implements MongoVersion {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(5, 0, 0);
        }

        @Override
        public int getWireVersion() {
            return 13;
        }
    }

    public static void main(String[] args) throws Exception {
        // Must be set before the first logger is created.
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");

        String host = "127.0.0.1";
        int port = 0;
        String backendName = "memory";
        String file = null;
        int oplogMaxEntries = 5_000;
        boolean watchStdin = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--host" -> host = value(args, ++i);
                case "--port" -> port = Integer.parseInt(value(args, ++i));
                case "--backend" -> backendName = value(args, ++i);
                case "--file" -> file = value(args, ++i);
                case "--oplog-max-entries" -> oplogMaxEntries = Integer.parseInt(value(args, ++i));
                case "--ignore-stdin" -> watchStdin = false; // for running it by hand in the background
                default -> fail("unknown argument: " + args[i]);
            }
        }

        OplogSafeClock clock = new OplogSafeClock();
        MongoBackend backend = switch (backendName) {
            case "memory" -> new MemoryBackend(clock) {
                @Override
                protected Oplog createOplog() {
                    return new WatchedOplog(super.createOplog(), this);
                }

                @Override
                public MemoryDatabase openOrCreateDatabase(String databaseName) {
                    return new MemoryDatabase(databaseName, getCursorRegistry()) {
                        @Override
                        protected Index<Integer> openOrCreateUniqueIndex(String collection, String name, List<IndexKey> keys, boolean sparse) {
                            return IdLookupIndex.of(super.openOrCreateUniqueIndex(collection, name, keys, sparse), keys, sparse);
                        }
                    };
                }
            };
            case "h2" -> {
                if (file == null) fail("--backend h2 needs --file PATH");
                File parent = new File(file).getAbsoluteFile().getParentFile();
                if (parent != null && !parent.isDirectory() && !parent.mkdirs()) fail("cannot create " + parent);
                yield new H2Backend(file, clock) {
                    @Override
                    protected Oplog createOplog() {
                        return new WatchedOplog(super.createOplog(), this);
                    }

                    @Override
                    protected MongoDatabase openOrCreateDatabase(String databaseName) {
                        return new H2Database(databaseName, getMvStore(), getCursorRegistry()) {
                            @Override
                            protected Index<Object> openOrCreateUniqueIndex(String collection, String name, List<IndexKey> keys, boolean sparse) {
                                return IdLookupIndex.of(super.openOrCreateUniqueIndex(collection, name, keys, sparse), keys, sparse);
                            }
                        };
                    }
                };
            }
            default -> throw fail("unknown backend: " + backendName);
        };
        backend.version(new StandinVersion());
        clock.holdPastStoredOplog(backend); // before the first write: new entries sort after the stored ones

        backend.enableOplog(); // change streams and resumeAfter read from the oplog (WatchedOplog)
        OplogCap oplogCap = new OplogCap(backend, oplogMaxEntries);
        StandinServer server = new StandinServer(backend);

        AtomicBoolean stopped = new AtomicBoolean(false);
        Runnable stop = () -> {
            if (stopped.compareAndSet(false, true)) {
                oplogCap.stop();
                server.shutdown(); // also closes the backend, which flushes and closes the H2 store
            }
        };
        // The JVM runs shutdown hooks on SIGTERM, SIGINT and System.exit.
        Runtime.getRuntime().addShutdownHook(new Thread(stop, "standin-shutdown"));

        int boundPort = server.bind(new InetSocketAddress(host, port));
        oplogCap.start();
        System.out.println("READY " + boundPort);
        System.out.flush();

        if (watchStdin) {
            Thread watcher = new Thread(() -> {
                drain(System.in);
                System.exit(0); // parent closed the pipe (or died): stop through the shutdown hook
            }, "standin-stdin-watch");
            watcher.setDaemon(true);
            watcher.start();
        }
        // Netty's non-daemon event loop threads keep the JVM alive until shutdown.
    }

    private static void drain(InputStream in) {
        byte[] buf = new byte[256];
        try {
            while (in.read(buf) >= 0) {
                // ignore whatever the parent writes; only EOF matters
            }
        } catch (IOException ignored) {
            // a broken pipe means the parent is gone, same as EOF
        }
    }

    private static String value(String[] args, int i) {
        if (i >= args.length) fail("missing value for " + args[i - 1]);
        return args[i];
    }

    private static IllegalArgumentException fail(String message) {
        System.err.println("MongoStandin: " + message);
        System.exit(2);
        return new IllegalArgumentException(message);
    }
}
