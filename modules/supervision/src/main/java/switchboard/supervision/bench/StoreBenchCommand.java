package switchboard.supervision.bench;

import com.typesafe.config.ConfigFactory;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import switchboard.providers.ChatMessage;
import switchboard.providers.ProviderResult;
import switchboard.providers.Usage;
import switchboard.router.ConversationSettings;
import switchboard.router.ConversationActor;
import switchboard.router.ConversationsActor;
import switchboard.router.RouteResult;
import switchboard.router.RouterActor;
import switchboard.supervision.store.StoreConfig;
import switchboard.supervision.store.StoreSchema;

/**
 * {@code switchboard bench store}: what durable conversations cost, measured in-process against the
 * real store (embedded H2 in a temporary directory, or a PostgreSQL server) with a router that
 * answers at once, so only the conversations and the store are measured: the heap per active
 * conversation with a full history, the time one message takes with its turn persisted against
 * the same message routed without a conversation, and the time to re-activate a passivated
 * conversation from the store after a restart (docs/benchmark.md).
 */
@Command(name = "store", mixinStandardHelpOptions = true,
    description = "Measure durable conversations: heap per conversation, persist latency, re-activation from the store.")
public final class StoreBenchCommand implements Callable<Integer> {
  private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();
  private static final Duration ASK = Duration.ofSeconds(60);

  @Spec CommandSpec spec;

  @Option(names = "--conversations", paramLabel = "N", defaultValue = "10000",
      description = "active conversations to hold (default: ${DEFAULT-VALUE})")
  int conversations;

  @Option(names = "--turns", paramLabel = "T", defaultValue = "10",
      description = "turns per conversation: 10 fill a 20-message history (default: ${DEFAULT-VALUE})")
  int turns;

  @Option(names = "--concurrency", paramLabel = "C", defaultValue = "64",
      description = "conversations written at once while filling (default: ${DEFAULT-VALUE})")
  int concurrency;

  @Option(names = "--samples", paramLabel = "M", defaultValue = "1000",
      description = "messages timed one at a time, and conversations re-activated (default: ${DEFAULT-VALUE})")
  int samples;

  @Option(names = "--postgres-url", paramLabel = "URL", description = "measure on this PostgreSQL instead of the embedded store")
  String postgresUrl;

  @Mixin PostgresLogin login;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    Path dir = Files.createTempDirectory("switchboard-bench-store-");
    StoreConfig store = postgresUrl == null
        ? StoreConfig.embedded(dir)
        : new StoreConfig(StoreConfig.Kind.POSTGRES, postgresUrl, login.user, login.password());
    StoreSchema.ensure(store);
    String run = Long.toString(System.currentTimeMillis(), 36);
    out.printf(Locale.ROOT, "store bench on the %s: %d conversations x %d turns, %d cpus, max heap %d MiB%n",
        store.describe(), conversations, turns, Runtime.getRuntime().availableProcessors(),
        Runtime.getRuntime().maxMemory() >> 20);

    ActorSystem<Void> system = system(store);
    ActorRef<RouterActor.Command> router = system.systemActorOf(instantRouter(), "router", Props.empty());
    ActorRef<ConversationsActor.Command> active = system.systemActorOf(
        ConversationsActor.create(router, settings()), "conversations", Props.empty());
    long before = heapAfterGc();
    long start = System.nanoTime();
    fill(system, active, run);
    double seconds = (System.nanoTime() - start) / 1e9;
    long after = heapAfterGc();
    out.printf(Locale.ROOT, "filled:        %d turns in %.1f s (%.0f persisted turns/s at concurrency %d)%n",
        (long) conversations * turns, seconds, conversations * (double) turns / seconds, concurrency);
    out.printf(Locale.ROOT, "heap:          %.1f KiB per active conversation with %d history messages (%.1f MiB for %d)%n",
        (after - before) / 1024.0 / conversations, Math.min(20, 2 * turns), (after - before) / 1048576.0, conversations);

    long[] persisted = timeMessages(system, id -> AskPattern.<ConversationsActor.Command, RouteResult>ask(active,
        r -> new ConversationsActor.UserMessage("bench:" + run + ":latency", "one more", r), ASK, system.scheduler()));
    long[] routed = timeMessages(system, id -> AskPattern.<RouterActor.Command, RouteResult>ask(router,
        r -> new RouterActor.Route(switchboard.providers.ChatRequest.of("bench", List.of(ChatMessage.user("one more"))), r),
        ASK, system.scheduler()));
    out.printf(Locale.ROOT, "per message:   with the turn persisted p50 %.2f ms p99 %.2f ms; routed without a conversation p50 %.2f ms p99 %.2f ms%n",
        ms(persisted, 0.50), ms(persisted, 0.99), ms(routed, 0.50), ms(routed, 0.99));
    out.printf(Locale.ROOT, "added:         p50 %+.2f ms, p99 %+.2f ms per message for persisting its turn%n",
        ms(persisted, 0.50) - ms(routed, 0.50), ms(persisted, 0.99) - ms(routed, 0.99));
    terminate(system);

    ActorSystem<Void> restarted = system(store);
    ActorRef<RouterActor.Command> router2 = restarted.systemActorOf(instantRouter(), "router", Props.empty());
    ActorRef<ConversationsActor.Command> fresh = restarted.systemActorOf(
        ConversationsActor.create(router2, settings()), "conversations", Props.empty());
    int step = Math.max(1, conversations / samples);
    AtomicInteger next = new AtomicInteger();
    long[] reactivated = timeMessages(restarted, i -> AskPattern.<ConversationsActor.Command, ConversationActor.Turns>ask(fresh,
        r -> new ConversationsActor.GetHistory(conversationId(run, (next.getAndIncrement() * step) % conversations), r),
        ASK, restarted.scheduler()));
    out.printf(Locale.ROOT, "re-activation: p50 %.2f ms p99 %.2f ms max %.2f ms (a passivated conversation read back from the store, one at a time, after a restart)%n",
        ms(reactivated, 0.50), ms(reactivated, 0.99), ms(reactivated, 1.0));
    terminate(restarted);
    return 0;
  }

  private ConversationSettings settings() {
    return ConversationSettings.of(20, Duration.ofHours(1), Optional.empty(), Duration.ofMinutes(2));
  }

  private static ActorSystem<Void> system(StoreConfig store) {
    return ActorSystem.create(Behaviors.empty(), "bench-store",
        store.pekkoConfig().withFallback(ConfigFactory.parseString("pekko.loglevel = WARNING")).withFallback(ConfigFactory.load()));
  }

  private static String conversationId(String run, int i) {
    return "bench:" + run + ":" + i;
  }

  /** Every conversation gets its turns, {@code concurrency} conversations at a time. */
  private void fill(ActorSystem<Void> system, ActorRef<ConversationsActor.Command> active, String run) throws Exception {
    AtomicInteger nextConversation = new AtomicInteger();
    List<CompletableFuture<Void>> lanes = new ArrayList<>();
    for (int lane = 0; lane < concurrency; lane++) {
      lanes.add(lane(system, active, run, nextConversation));
    }
    CompletableFuture.allOf(lanes.toArray(CompletableFuture[]::new)).get(2, TimeUnit.HOURS);
  }

  private CompletableFuture<Void> lane(
      ActorSystem<Void> system, ActorRef<ConversationsActor.Command> active, String run, AtomicInteger next) {
    int id = next.getAndIncrement();
    if (id >= conversations) {
      return CompletableFuture.completedFuture(null);
    }
    CompletionStage<RouteResult> chain = CompletableFuture.completedFuture(null);
    for (int t = 0; t < turns; t++) {
      String text = "turn " + t + " of a conversation long enough to look like one";
      chain = chain.thenCompose(x -> AskPattern.<ConversationsActor.Command, RouteResult>ask(active,
          r -> new ConversationsActor.UserMessage(conversationId(run, id), text, r), ASK, system.scheduler()));
    }
    return chain.toCompletableFuture().thenCompose(x -> lane(system, active, run, next));
  }

  /** {@code samples} asks one at a time, in nanoseconds, sorted. */
  private long[] timeMessages(ActorSystem<Void> system, java.util.function.IntFunction<CompletionStage<?>> ask) throws Exception {
    long[] nanos = new long[samples];
    for (int i = 0; i < samples; i++) {
      long t0 = System.nanoTime();
      ask.apply(i).toCompletableFuture().get(60, TimeUnit.SECONDS);
      nanos[i] = System.nanoTime() - t0;
    }
    Arrays.sort(nanos);
    return nanos;
  }

  private static double ms(long[] sorted, double q) {
    int index = (int) Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
    return sorted[Math.max(0, index)] / 1e6;
  }

  /**
   * A router that answers every message at once, so only the conversation and the store are measured.
   * Each answer is its own string, as one read from a provider's response is (one shared constant
   * would make the history's answers look free).
   */
  private static Behavior<RouterActor.Command> instantRouter() {
    return Behaviors.receive(RouterActor.Command.class)
        .onMessage(RouterActor.Route.class, route -> {
          String answer = "answer " + route.request().messages().size() + ": of a usual length, a sentence or two";
          route.replyTo().tell(new RouteResult.Answered(
              new ProviderResult.Success("bench", "bench#1", "bench-model", answer, Usage.NONE, 1), List.of()));
          return Behaviors.same();
        })
        .build();
  }

  private static long heapAfterGc() {
    MEMORY.gc();
    MEMORY.gc();
    return MEMORY.getHeapMemoryUsage().getUsed();
  }

  private static void terminate(ActorSystem<Void> system) throws Exception {
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }
}
