import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.bson.BsonTimestamp;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The stand-in's clock: the system clock, held past the newest entry of a stored oplog.
 *
 * mongo-java-server stamps an oplog entry with (wall-clock second, counter), and the counter
 * starts at 0 in every process. A file-backed stand-in restarted within the second of its last
 * write, or after the system clock was stepped back, would stamp new entries at or below the
 * stored ones, and a change stream resuming from a stored token would never see them. MongoDB's
 * cluster time never goes back; with this clock, neither does the stand-in's.
 *
 * After a restart with the clock stepped back, the wall clock it reports stands still at the
 * held second until the system clock catches up; oplog order stays right meanwhile, as the
 * counter goes on increasing. The system property {@code standin.clockOffsetMs} shifts the
 * system clock, so tests can restart the stand-in with its clock stepped back.
 */
final class OplogSafeClock extends Clock {

    private final Clock system;
    private final AtomicReference<Instant> floor;

    OplogSafeClock() {
        this(Clock.offset(Clock.systemDefaultZone(), Duration.ofMillis(Long.getLong("standin.clockOffsetMs", 0L))),
            new AtomicReference<>(Instant.EPOCH));
    }

    private OplogSafeClock(Clock system, AtomicReference<Instant> floor) {
        this.system = system;
        this.floor = floor;
    }

    /** Holds the clock at or after the second following the newest entry in the backend's stored oplog. */
    void holdPastStoredOplog(MongoBackend backend) {
        MongoCollection<?> stored = WatchedOplog.storedOplog(backend);
        if (stored == null) return;
        stored.queryAllAsStream().map(entry -> entry.get("ts")).filter(BsonTimestamp.class::isInstance)
            .mapToLong(ts -> Integer.toUnsignedLong(((BsonTimestamp) ts).getTime())).max() // seconds, unsigned as in MongoDB
            .ifPresent(newestSecond -> floor.accumulateAndGet(Instant.ofEpochSecond(newestSecond + 1),
                (a, b) -> a.isAfter(b) ? a : b));
    }

    @Override
    public Instant instant() {
        Instant now = system.instant();
        Instant held = floor.get();
        return now.isBefore(held) ? held : now;
    }

    @Override
    public ZoneId getZone() {
        return system.getZone();
    }

    @Override
    public Clock withZone(ZoneId zone) {
        return new OplogSafeClock(system.withZone(zone), floor);
    }
}
