import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.wire.MongoDatabaseHandler;
import de.bwaldvogel.mongo.wire.MongoExceptionHandler;
import de.bwaldvogel.mongo.wire.MongoWireMessageEncoder;
import de.bwaldvogel.mongo.wire.MongoWireProtocolHandler;
import de.bwaldvogel.mongo.wire.MongoWireReplyEncoder;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;

import java.net.InetSocketAddress;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * mongo-java-server's network front, with {@link AwaitDataHandler} in each connection's pipeline.
 *
 * MongoServer builds its pipeline privately, so this mirrors its bootstrap (same handlers, same
 * order) and adds the one handler in front of the command handler.
 */
final class StandinServer {

    private final MongoBackend backend;
    private final Set<AwaitDataHandler.Parked> parked = AwaitDataHandler.newRegistry();
    private final AtomicInteger responseIds = new AtomicInteger();
    private EventLoopGroup bossGroup;
    private EventLoopGroup workerGroup;
    private Channel serverChannel;

    StandinServer(MongoBackend backend) {
        this.backend = backend;
    }

    int bind(InetSocketAddress address) {
        bossGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        workerGroup = new MultiThreadIoEventLoopGroup(0, NioIoHandler.newFactory());
        ChannelGroup channels = new DefaultChannelGroup("standin-channels", workerGroup.next());
        try {
            serverChannel = new ServerBootstrap()
                .group(bossGroup, workerGroup)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 100)
                .localAddress(address)
                .childOption(ChannelOption.TCP_NODELAY, Boolean.TRUE)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    public void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new MongoWireReplyEncoder());
                        ch.pipeline().addLast(new MongoWireMessageEncoder());
                        ch.pipeline().addLast(new MongoWireProtocolHandler());
                        ch.pipeline().addLast(new AwaitDataHandler(backend, parked, responseIds));
                        ch.pipeline().addLast(new MongoDatabaseHandler(backend, channels));
                        ch.pipeline().addLast(new MongoExceptionHandler());
                    }
                })
                .bind().syncUninterruptibly().channel();
        } catch (Throwable e) { // Netty rethrows a BindException unchecked
            // e.g. the port is taken: without this the event loops' threads keep the JVM alive
            bossGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            workerGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw e;
        }
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    /** Stops accepting, closes connections, then closes the backend (which flushes an H2 store). */
    void shutdown() {
        if (serverChannel != null) serverChannel.close().syncUninterruptibly();
        if (bossGroup != null) bossGroup.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
        if (workerGroup != null) workerGroup.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
        backend.close();
    }
}
