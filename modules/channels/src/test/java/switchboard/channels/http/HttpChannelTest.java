package switchboard.channels.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import switchboard.channels.ChannelStatus;
import switchboard.channels.Channel;
import switchboard.channels.ChannelContext;
import switchboard.channels.GatewayStatus;
import switchboard.providers.observe.ProviderHistory;
import switchboard.testkit.faults.Crashable;
import switchboard.providers.BreakerState;
import switchboard.providers.ChatMessage;
import switchboard.providers.ChatRequest;
import switchboard.providers.OutcomeKind;
import switchboard.providers.ProviderStatus;
import switchboard.router.ConversationsActor;
import switchboard.router.RouteResult;
import switchboard.router.RouterActor;

/** The HTTP channel against real servers on 127.0.0.1 port 0, driven by the JDK's HTTP client. */
class HttpChannelTest {
  private static final ActorTestKit testKit = ActorTestKit.create();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient client =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
  private static final String OUT_OF_CREDITS_TEXT =
      "Provider primary returned 402: insufficient credits. Please top up your balance and try again.";
  private static final String HELLO = "{\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";

  private final List<ActorRef<Channel.Command>> started = new ArrayList<>();

  private record Running(ActorRef<Channel.Command> channel, URI base, PrometheusMeterRegistry registry) {
    URI uri(String path) {
      return base.resolve(path);
    }
  }

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @AfterEach
  void stopChannels() {
    started.forEach(testKit::stop);
  }

  // ---- harness ----

  /** A gateway status with no providers and no channels: what the tests that do not look at it render. */
  private static final GatewayStatus.Snapshot NO_STATUS =
      new GatewayStatus.Snapshot(Optional.of(List.of()), List.of(), Map.of());

  private Running start(
      HttpChannelConfig config,
      Behavior<RouterActor.Command> router,
      Behavior<ConversationsActor.Command> conversations,
      GatewayStatus.Snapshot status,
      Duration requestTimeout) {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    ActorRef<GatewayStatus.Command> statusActor = testKit.spawn(Behaviors.receiveMessage(get -> {
      ((GatewayStatus.Get) get).replyTo().tell(status);
      return Behaviors.same();
    }));
    ChannelContext context = new ChannelContext(testKit.spawn(router), testKit.spawn(conversations), registry,
        requestTimeout, java.nio.file.Path.of("target"), statusActor, new ProviderHistory(), Optional::empty);
    Behavior<Channel.Command> behavior = Behaviors.supervise(Crashable.wrap(HttpChannel.create(config.withPort(0), context)))
        .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(50), Duration.ofMillis(200), 0));
    ActorRef<Channel.Command> channel = testKit.spawn(behavior);
    started.add(channel);
    return new Running(channel, baseOf(awaitBinding(channel)), registry);
  }

  private Running start(Behavior<RouterActor.Command> router) {
    return start(HttpChannelConfig.DEFAULT, router, Stubs.conversations(m -> Stubs.answered("p", "m", "x")),
        NO_STATUS, Duration.ofSeconds(10));
  }

  private static InetSocketAddress awaitBinding(ActorRef<Channel.Command> channel) {
    TestProbe<InetSocketAddress> probe = testKit.createTestProbe();
    channel.tell(new HttpChannel.GetBinding(probe.ref()));
    return probe.receiveMessage(Duration.ofSeconds(20));
  }

  private static URI baseOf(InetSocketAddress address) {
    return URI.create("http://127.0.0.1:" + address.getPort() + "/");
  }

  private static HttpResponse<String> post(URI uri, String body, String... headers) throws Exception {
    return postAsync(uri, body, headers).get(20, TimeUnit.SECONDS);
  }

  private static CompletableFuture<HttpResponse<String>> postAsync(URI uri, String body, String... headers) {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri)
        .timeout(Duration.ofSeconds(20))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    if (headers.length > 0) {
      request.headers(headers);
    }
    return client.sendAsync(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> get(URI uri, String... headers) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20)).GET();
    if (headers.length > 0) {
      request.headers(headers);
    }
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode json(HttpResponse<String> response) throws Exception {
    assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("application/json"),
        "content type of " + response.body());
    return JSON.readTree(response.body());
  }

  /** Asserts the one error shape and returns the error's message. */
  private static String assertError(HttpResponse<String> response, int status, String type) throws Exception {
    assertEquals(status, response.statusCode(), response.body());
    JsonNode error = json(response).get("error");
    assertEquals(type, error.get("type").asText(), response.body());
    assertTrue(error.get("message").isTextual() && !error.get("message").asText().isEmpty(), response.body());
    return error.get("message").asText();
  }

  // ---- endpoints ----

  @Test
  void healthIsUp() throws Exception {
    Running gw = start(Stubs.router(r -> Stubs.answered("p", "m", "x"), List.of()));
    HttpResponse<String> response = get(gw.uri("/health"));
    assertEquals(200, response.statusCode());
    assertEquals("up", json(response).get("status").asText());
  }

  @Test
  void chatCompletionIsAnsweredInOpenAiShape() throws Exception {
    TestProbe<RouterActor.Command> router = testKit.createTestProbe();
    Running gw = start(Stubs.forwardTo(router.ref()));
    String body = "{\"model\":\"whatever\",\"max_tokens\":50,\"temperature\":0.5,\"messages\":["
        + "{\"role\":\"system\",\"content\":\"be brief\"},"
        + "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hello\"},{\"type\":\"text\",\"text\":\"there\"}]}]}";
    CompletableFuture<HttpResponse<String>> pending = postAsync(gw.uri("/v1/chat/completions"), body);

    RouterActor.Route route = router.expectMessageClass(RouterActor.Route.class, Duration.ofSeconds(10));
    ChatRequest request = route.request();
    assertEquals(List.of(ChatMessage.system("be brief"), ChatMessage.user("hello\nthere")), request.messages());
    assertEquals(Optional.of(50), request.maxTokens());
    assertEquals(Optional.of(0.5), request.temperature());
    long before = Instant.now().getEpochSecond();
    route.replyTo().tell(Stubs.answered("backup", "gpt-4o-mini", "Hi!"));

    HttpResponse<String> response = pending.get(20, TimeUnit.SECONDS);
    assertEquals(200, response.statusCode(), response.body());
    assertEquals("backup", response.headers().firstValue("X-Switchboard-Provider").orElseThrow());
    JsonNode completion = json(response);
    assertTrue(completion.get("id").asText().startsWith("chatcmpl-"));
    assertEquals("chat.completion", completion.get("object").asText());
    assertTrue(completion.get("created").asLong() >= before - 1);
    assertEquals("gpt-4o-mini", completion.get("model").asText());
    JsonNode choice = completion.get("choices").get(0);
    assertEquals(0, choice.get("index").asInt());
    assertEquals("assistant", choice.get("message").get("role").asText());
    assertEquals("Hi!", choice.get("message").get("content").asText());
    assertEquals("stop", choice.get("finish_reason").asText());
    assertEquals(11, completion.get("usage").get("prompt_tokens").asInt());
    assertEquals(7, completion.get("usage").get("completion_tokens").asInt());
    assertEquals(18, completion.get("usage").get("total_tokens").asInt());
  }

  @Test
  void streamTrueAnswersServerSentEventsInOpenAiChunkShape() throws Exception {
    Running gw = start(Stubs.router(r -> Stubs.answered("backup", "gpt-4o-mini", "Hi!"), List.of()));
    HttpResponse<String> response = post(gw.uri("/v1/chat/completions"),
        "{\"stream\":true,\"stream_options\":{\"include_usage\":true},"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}");
    assertEquals(200, response.statusCode(), response.body());
    assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
    assertEquals("backup", response.headers().firstValue("X-Switchboard-Provider").orElseThrow());
    List<String> events = java.util.Arrays.stream(response.body().split("\n\n"))
        .map(e -> e.substring("data: ".length())).toList();
    assertEquals(4, events.size(), response.body());
    JsonNode first = JSON.readTree(events.get(0));
    assertEquals("chat.completion.chunk", first.get("object").asText());
    assertEquals("gpt-4o-mini", first.get("model").asText());
    assertEquals("Hi!", first.get("choices").get(0).get("delta").get("content").asText());
    assertEquals("stop", JSON.readTree(events.get(1)).get("choices").get(0).get("finish_reason").asText());
    assertEquals(18, JSON.readTree(events.get(2)).get("usage").get("total_tokens").asInt());
    assertEquals("[DONE]", events.get(3));
  }

  @Test
  void streamTrueFailuresStayJsonErrors() throws Exception {
    Running gw = start(Stubs.router(
        r -> Stubs.failed(OutcomeKind.OUT_OF_CREDITS, "primary", OUT_OF_CREDITS_TEXT, Optional.empty()), List.of()));
    HttpResponse<String> response = post(gw.uri("/v1/chat/completions"),
        "{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}");
    assertEquals(OUT_OF_CREDITS_TEXT, assertError(response, 402, "out_of_credits"));
  }

  @Test
  void outOfCreditsIs402WithTheExactText() throws Exception {
    Running gw = start(Stubs.router(
        r -> Stubs.failed(OutcomeKind.OUT_OF_CREDITS, "primary", OUT_OF_CREDITS_TEXT, Optional.empty()), List.of()));
    HttpResponse<String> response = post(gw.uri("/v1/chat/completions"), HELLO);
    assertEquals(OUT_OF_CREDITS_TEXT, assertError(response, 402, "out_of_credits"));
    assertEquals("primary", json(response).get("error").get("provider").asText());
  }

  @ParameterizedTest
  @CsvSource({
    "RATE_LIMITED, 429, 1500",
    "BUDGET_EXCEEDED, 429, 0",
    "AUTH_FAILED, 502, 0",
    "BAD_REQUEST, 400, 0",
    "UNAVAILABLE, 503, 0",
  })
  void failuresMapToTheContractStatuses(OutcomeKind kind, int status, long retryAfterMillis) throws Exception {
    Optional<Duration> retryAfter =
        retryAfterMillis > 0 ? Optional.of(Duration.ofMillis(retryAfterMillis)) : Optional.empty();
    String text = "Provider primary failed: " + kind.wire();
    Running gw = start(Stubs.router(r -> Stubs.failed(kind, "primary", text, retryAfter), List.of()));
    HttpResponse<String> response = post(gw.uri("/v1/chat/completions"), HELLO);
    assertEquals(text, assertError(response, status, kind.wire()));
    assertEquals("primary", json(response).get("error").get("provider").asText());
    assertEquals(retryAfter.map(d -> "2"), response.headers().firstValue("Retry-After"));
  }

  @Test
  void conversationMessagesGoToTheConversationWithTheChannelPrefix() throws Exception {
    TestProbe<ConversationsActor.Command> conversations = testKit.createTestProbe();
    Running gw = start(HttpChannelConfig.DEFAULT, Stubs.router(r -> Stubs.answered("p", "m", "x"), List.of()),
        Stubs.forwardTo(conversations.ref()), NO_STATUS, Duration.ofSeconds(10));
    CompletableFuture<HttpResponse<String>> pending =
        postAsync(gw.uri("/api/conversations/abc-1/messages"), "{\"text\":\"what is 2+2?\"}");

    ConversationsActor.UserMessage message =
        conversations.expectMessageClass(ConversationsActor.UserMessage.class, Duration.ofSeconds(10));
    assertEquals("http:abc-1", message.conversationId());
    assertEquals("what is 2+2?", message.text());
    message.replyTo().tell(Stubs.answered("primary", "m", "4"));

    HttpResponse<String> response = pending.get(20, TimeUnit.SECONDS);
    assertEquals(200, response.statusCode(), response.body());
    JsonNode body = json(response);
    assertEquals("abc-1", body.get("conversation").asText());
    assertEquals("4", body.get("reply").asText());
    assertEquals("primary", body.get("provider").asText());
  }

  @Test
  void conversationFailureUsesTheErrorShape() throws Exception {
    Running gw = start(HttpChannelConfig.DEFAULT, Stubs.router(r -> Stubs.answered("p", "m", "x"), List.of()),
        Stubs.conversations(m -> Stubs.failed(OutcomeKind.OUT_OF_CREDITS, "primary", OUT_OF_CREDITS_TEXT,
            Optional.empty())),
        NO_STATUS, Duration.ofSeconds(10));
    HttpResponse<String> response = post(gw.uri("/api/conversations/c/messages"), "{\"text\":\"hi\"}");
    assertEquals(OUT_OF_CREDITS_TEXT, assertError(response, 402, "out_of_credits"));
  }

  // ---- the caller's mistakes ----

  @Test
  void invalidRequestsAre400NamingTheProblem() throws Exception {
    Running gw = start(Stubs.router(r -> Stubs.answered("p", "m", "x"), List.of()));
    URI chat = gw.uri("/v1/chat/completions");
    assertTrue(assertError(post(chat, "{\"messages\": [oops"), 400, "invalid_request").contains("not valid JSON"));
    assertTrue(assertError(post(chat, "{\"model\":\"x\"}"), 400, "invalid_request").contains("messages"));
    assertTrue(assertError(post(chat, "{\"messages\":[]}"), 400, "invalid_request").contains("messages"));
    assertTrue(assertError(post(chat, "[1,2]"), 400, "invalid_request").contains("JSON object"));
    assertTrue(assertError(post(chat, "{\"messages\":[{\"role\":\"user\",\"content\":5}]}"), 400, "invalid_request")
        .contains("messages[0].content"));
    assertTrue(assertError(post(chat, "{\"messages\":[{\"content\":\"x\"}]}"), 400, "invalid_request")
        .contains("messages[0].role"));
    assertTrue(assertError(post(chat, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":\"9\"}"),
        400, "invalid_request").contains("max_tokens"));
    assertTrue(assertError(post(chat, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream\":\"yes\"}"),
        400, "invalid_request").contains("stream"));
    URI conversation = gw.uri("/api/conversations/c/messages");
    assertTrue(assertError(post(conversation, "{}"), 400, "invalid_request").contains("text"));
    assertTrue(assertError(post(conversation, "{\"text\":3}"), 400, "invalid_request").contains("text"));
    assertTrue(assertError(post(conversation, ""), 400, "invalid_request").contains("empty"));
  }

  @Test
  void oversizeBodiesAre413TooLarge() throws Exception {
    Running gw = start(HttpChannelConfig.DEFAULT.withMaxBodySize(1024),
        Stubs.router(r -> Stubs.answered("p", "m", "x"), List.of()),
        Stubs.conversations(m -> Stubs.answered("p", "m", "x")), NO_STATUS, Duration.ofSeconds(10));
    String big = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(4096) + "\"}]}";
    assertTrue(assertError(post(gw.uri("/v1/chat/completions"), big), 413, "too_large").contains("1024"));
    assertError(post(gw.uri("/api/conversations/c/messages"), "{\"text\":\"" + "y".repeat(2048) + "\"}"),
        413, "too_large");
    HttpRequest chunked = HttpRequest.newBuilder(gw.uri("/v1/chat/completions"))
        .timeout(Duration.ofSeconds(20))
        .POST(HttpRequest.BodyPublishers.ofInputStream(
            () -> new java.io.ByteArrayInputStream(big.getBytes(java.nio.charset.StandardCharsets.UTF_8))))
        .build();
    assertError(client.send(chunked, HttpResponse.BodyHandlers.ofString()), 413, "too_large");
    assertEquals(200, post(gw.uri("/v1/chat/completions"), HELLO).statusCode());
  }

  @Test
  void defaultLimitRefusesTwoMebibytes() throws Exception {
    Running gw = start(Stubs.router(r -> Stubs.answered("p", "m", "x"), List.of()));
    String big = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(2 * 1024 * 1024) + "\"}]}";
    assertError(post(gw.uri("/v1/chat/completions"), big), 413, "too_large");
  }

  @Test
  void unknownPathsAndWrongMethodsAnswerJson() throws Exception {
    Running gw = start(Stubs.router(r -> Stubs.answered("p", "m", "x"), List.of()));
    assertError(get(gw.uri("/nowhere")), 404, "not_found");
    assertError(get(gw.uri("/v1/embeddings")), 404, "not_found");
    assertError(get(gw.uri("/v1/chat/completions")), 405, "method_not_allowed");
    assertError(post(gw.uri("/health"), "{}"), 405, "method_not_allowed");
  }

  @Test
  void bearerTokenIsRequiredOnV1AndApiWhenSet() throws Exception {
    Running gw = start(HttpChannelConfig.DEFAULT.withAuthToken(Optional.of("s3cret")),
        Stubs.router(r -> Stubs.answered("p", "m", "x"), List.of()),
        Stubs.conversations(m -> Stubs.answered("p", "m", "x")), NO_STATUS, Duration.ofSeconds(10));
    URI chat = gw.uri("/v1/chat/completions");
    assertError(post(chat, HELLO), 401, "unauthorized");
    assertError(post(chat, HELLO, "Authorization", "Bearer wrong"), 401, "unauthorized");
    assertError(post(chat, HELLO, "Authorization", "Bearer s3cret-and-more"), 401, "unauthorized");
    assertError(get(gw.uri("/api/status")), 401, "unauthorized");
    assertError(post(gw.uri("/api/conversations/c/messages"), "{\"text\":\"x\"}"), 401, "unauthorized");
    assertEquals(200, post(chat, HELLO, "Authorization", "Bearer s3cret").statusCode());
    assertEquals(200, get(gw.uri("/api/status"), "Authorization", "bearer s3cret").statusCode());
    assertEquals(200, get(gw.uri("/health")).statusCode());
    assertFalse(get(gw.uri("/metrics")).body().contains("s3cret"));
  }

  // ---- busy and timeouts ----

  @Test
  void beyondMaxPendingTheCallerGetsBusyAtOnceAndTheOthersStillGetAnswers() throws Exception {
    TestProbe<RouterActor.Command> router = testKit.createTestProbe();
    Running gw = start(HttpChannelConfig.DEFAULT.withMaxPendingMessages(2), Stubs.forwardTo(router.ref()),
        Stubs.conversations(m -> Stubs.answered("p", "m", "x")), NO_STATUS, Duration.ofSeconds(30));
    URI chat = gw.uri("/v1/chat/completions");
    CompletableFuture<HttpResponse<String>> first = postAsync(chat, HELLO);
    CompletableFuture<HttpResponse<String>> second = postAsync(chat, HELLO);
    RouterActor.Route a = router.expectMessageClass(RouterActor.Route.class, Duration.ofSeconds(10));
    RouterActor.Route b = router.expectMessageClass(RouterActor.Route.class, Duration.ofSeconds(10));

    long started = System.nanoTime();
    HttpResponse<String> third = post(chat, HELLO);
    Duration took = Duration.ofNanos(System.nanoTime() - started);
    assertError(third, 503, "busy");
    assertEquals(Optional.of("1"), third.headers().firstValue("Retry-After"));
    assertTrue(took.compareTo(Duration.ofSeconds(2)) < 0, "busy took " + took);
    assertError(post(gw.uri("/api/conversations/c/messages"), "{\"text\":\"x\"}"), 503, "busy");
    router.expectNoMessage(Duration.ofMillis(100));

    a.replyTo().tell(Stubs.answered("primary", "m", "one"));
    b.replyTo().tell(Stubs.answered("primary", "m", "two"));
    assertEquals(200, first.get(20, TimeUnit.SECONDS).statusCode());
    assertEquals(200, second.get(20, TimeUnit.SECONDS).statusCode());
    assertEquals(0, status(gw).pending());
    assertEquals(2, status(gw).busyReplies());
    assertTrue(get(gw.uri("/metrics")).body().contains("switchboard_busy_replies_total{channel=\"http\"} 2.0"));

    CompletableFuture<HttpResponse<String>> again = postAsync(chat, HELLO);
    router.expectMessageClass(RouterActor.Route.class, Duration.ofSeconds(10)).replyTo()
        .tell(Stubs.answered("primary", "m", "three"));
    assertEquals(200, again.get(20, TimeUnit.SECONDS).statusCode());
  }

  @Test
  void anUnansweredAskEndsIn503UnavailableAndFreesItsPendingSlot() throws Exception {
    TestProbe<RouterActor.Command> router = testKit.createTestProbe();
    Running gw = start(HttpChannelConfig.DEFAULT.withMaxPendingMessages(1), Stubs.forwardTo(router.ref()),
        Stubs.conversations(m -> Stubs.answered("p", "m", "x")), NO_STATUS, Duration.ofMillis(100));
    long started = System.nanoTime();
    HttpResponse<String> response = post(gw.uri("/v1/chat/completions"), HELLO);
    Duration took = Duration.ofNanos(System.nanoTime() - started);
    assertError(response, 503, "unavailable");
    assertTrue(took.compareTo(Duration.ofMillis(100)) >= 0, "timed out after " + took);
    assertEquals(0, status(gw).pending());
    CompletableFuture<HttpResponse<String>> next = postAsync(gw.uri("/v1/chat/completions"), HELLO);
    router.expectMessageClass(RouterActor.Route.class, Duration.ofSeconds(10));
    RouterActor.Route route = router.expectMessageClass(RouterActor.Route.class, Duration.ofSeconds(10));
    route.replyTo().tell(Stubs.answered("p", "m", "late but fine"));
    assertEquals(200, next.get(20, TimeUnit.SECONDS).statusCode());
  }

  // ---- drain ----

  @Test
  void aDrainRefusesNewMessagesAtOnceAndRepliesWhenTheAcceptedOneIsAnswered() throws Exception {
    TestProbe<RouterActor.Command> router = testKit.createTestProbe();
    Running gw = start(HttpChannelConfig.DEFAULT, Stubs.forwardTo(router.ref()),
        Stubs.conversations(m -> Stubs.answered("p", "m", "x")), NO_STATUS, Duration.ofSeconds(30));
    CompletableFuture<HttpResponse<String>> accepted = postAsync(gw.uri("/v1/chat/completions"), HELLO);
    RouterActor.Route route = router.expectMessageClass(RouterActor.Route.class, Duration.ofSeconds(10));

    TestProbe<Channel.Drained> drained = testKit.createTestProbe();
    gw.channel().tell(new Channel.Drain(Duration.ofSeconds(20), drained.ref()));
    drained.expectNoMessage(Duration.ofMillis(300));
    assertEquals("draining", status(gw).state());

    long started = System.nanoTime();
    HttpResponse<String> refused = post(gw.uri("/api/conversations/c/messages"), "{\"text\":\"x\"}");
    Duration took = Duration.ofNanos(System.nanoTime() - started);
    String message = assertError(refused, 503, "unavailable");
    assertTrue(message.contains("shutting down"), message);
    assertEquals(Optional.of("5"), refused.headers().firstValue("Retry-After"));
    assertTrue(took.compareTo(Duration.ofSeconds(2)) < 0, "refused at once, took " + took);
    assertEquals(0, status(gw).busyReplies(), "a refusal while draining is not a busy reply");
    assertEquals(200, get(gw.uri("/health")).statusCode(), "health and status still answer while draining");
    router.expectNoMessage(Duration.ofMillis(100));

    route.replyTo().tell(Stubs.answered("primary", "m", "answered while draining"));
    assertEquals(200, accepted.get(20, TimeUnit.SECONDS).statusCode());
    assertEquals(new Channel.Drained("http", 0), drained.receiveMessage(Duration.ofSeconds(10)));
    assertEquals("stopped", status(gw).state());

    TestProbe<Channel.Drained> again = testKit.createTestProbe();
    gw.channel().tell(new Channel.Drain(Duration.ofSeconds(20), again.ref()));
    assertEquals(new Channel.Drained("http", 0), again.receiveMessage(Duration.ofSeconds(10)), "a second drain: same answer");
    assertUnbound(gw.base().getPort());
  }

  @Test
  void aDrainWithNothingPendingRepliesAtOnce() {
    Running gw = start(Stubs.router(r -> Stubs.answered("p", "m", "x"), List.of()));
    TestProbe<Channel.Drained> drained = testKit.createTestProbe();
    gw.channel().tell(new Channel.Drain(Duration.ofSeconds(20), drained.ref()));
    assertEquals(new Channel.Drained("http", 0), drained.receiveMessage(Duration.ofSeconds(5)));
  }

  @Test
  void aDrainThatRunsOutOfTimeSaysHowManyAreUnanswered() throws Exception {
    TestProbe<RouterActor.Command> router = testKit.createTestProbe();
    Running gw = start(HttpChannelConfig.DEFAULT, Stubs.forwardTo(router.ref()),
        Stubs.conversations(m -> Stubs.answered("p", "m", "x")), NO_STATUS, Duration.ofSeconds(30));
    CompletableFuture<HttpResponse<String>> stuck = postAsync(gw.uri("/v1/chat/completions"), HELLO);
    router.expectMessageClass(RouterActor.Route.class, Duration.ofSeconds(10));
    TestProbe<Channel.Drained> drained = testKit.createTestProbe();
    long started = System.nanoTime();
    gw.channel().tell(new Channel.Drain(Duration.ofMillis(400), drained.ref()));
    assertEquals(new Channel.Drained("http", 1), drained.receiveMessage(Duration.ofSeconds(10)));
    assertTrue(Duration.ofNanos(System.nanoTime() - started).toMillis() >= 400, "waited the drain timeout");
    stuck.cancel(true);
  }

  /** The port no longer accepts connections (unbinding is asynchronous: bounded retries). */
  private static void assertUnbound(int port) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      try (java.net.Socket socket = new java.net.Socket()) {
        socket.connect(new InetSocketAddress("127.0.0.1", port), 1000);
      } catch (java.net.ConnectException refused) {
        return;
      }
      assertTrue(System.nanoTime() < deadline, "port " + port + " still accepts connections after the drain");
      Thread.sleep(50);
    }
  }

  private static ChannelStatus status(Running gw) {
    TestProbe<ChannelStatus> probe = testKit.createTestProbe();
    gw.channel().tell(new Channel.GetStatus(probe.ref()));
    return probe.receiveMessage(Duration.ofSeconds(10));
  }

  // ---- status, metrics, page ----

  @Test
  void apiStatusShowsProvidersAndChannels() throws Exception {
    Instant until = Instant.parse("2030-01-01T00:00:00Z");
    ProviderStatus primary = new ProviderStatus("primary", "openai", "gpt-4o-mini", 1, false, BreakerState.OPEN,
        Optional.of("out_of_credits"), Optional.of(until),
        List.of(new ProviderStatus.KeyStatus("primary#1", BreakerState.OPEN, Optional.of("out_of_credits"),
            Optional.of(until), Optional.empty(), ProviderStatus.Accounting.ZERO)),
        new ProviderStatus.Accounting(3, 100, 50, 0.01, 0.01, 0.01), ProviderStatus.Throttle.NONE);
    ProviderStatus backup = new ProviderStatus("backup", "anthropic", "claude", 2, true, BreakerState.CLOSED,
        Optional.empty(), Optional.empty(), List.of(), ProviderStatus.Accounting.ZERO, ProviderStatus.Throttle.NONE);
    GatewayStatus.Snapshot snapshot = new GatewayStatus.Snapshot(Optional.of(List.of(primary, backup)), List.of(
        new ChannelStatus("http", 0, 100, "serving", Optional.empty(), 0),
        new ChannelStatus("telegram", 1, 10, "polling", Optional.empty(), 0)), Map.of());
    Running gw = start(HttpChannelConfig.DEFAULT, Stubs.router(r -> Stubs.answered("p", "m", "x"), List.of()),
        Stubs.conversations(m -> Stubs.answered("p", "m", "x")), snapshot, Duration.ofSeconds(10));

    JsonNode status = json(get(gw.uri("/api/status")));
    JsonNode p = status.get("providers").get(0);
    assertEquals("primary", p.get("name").asText());
    assertEquals(1, p.get("priority").asInt());
    assertEquals("open", p.get("state").asText());
    assertEquals("out_of_credits", p.get("reason").asText());
    assertEquals("2030-01-01T00:00:00Z", p.get("open_until").asText());
    assertEquals("primary#1", p.get("keys").get(0).get("alias").asText());
    assertEquals("open", p.get("keys").get(0).get("state").asText());
    assertEquals("openai", p.get("kind").asText());
    assertEquals(3, p.get("accounting").get("calls").asInt());
    JsonNode b = status.get("providers").get(1);
    assertEquals("closed", b.get("state").asText());
    assertTrue(b.get("reason").isNull());
    assertTrue(b.get("open_until").isNull());

    JsonNode http = status.get("channels").get(0);
    assertEquals("http", http.get("name").asText());
    assertEquals(0, http.get("pending").asInt());
    assertEquals(100, http.get("max_pending").asInt());
    assertEquals("serving", http.get("state").asText());
    JsonNode tg = status.get("channels").get(1);
    assertEquals("telegram", tg.get("name").asText());
    assertEquals("polling", tg.get("state").asText());
    assertEquals(10, tg.get("max_pending").asInt());
    assertTrue(status.get("uptime_seconds").isIntegralNumber());
  }

  @Test
  void apiStatusCarriesTheExtrasButKeepsItsOwnFields() throws Exception {
    GatewayStatus.Snapshot snapshot = new GatewayStatus.Snapshot(Optional.of(List.of()), List.of(), Map.<String, Object>of(
        "alerts", List.of(Map.of("type", "out_of_credits", "provider", "primary")),
        "last_shutdown", JSON.createObjectNode().put("reason", "SIGTERM").put("unanswered", 0),
        "providers", "not to be replaced"));
    Running gw = start(HttpChannelConfig.DEFAULT, Stubs.router(r -> Stubs.answered("p", "m", "x"), List.of()),
        Stubs.conversations(m -> Stubs.answered("p", "m", "x")), snapshot, Duration.ofSeconds(10));
    JsonNode status = json(get(gw.uri("/api/status")));
    assertEquals("out_of_credits", status.get("alerts").get(0).get("type").asText());
    assertEquals("SIGTERM", status.get("last_shutdown").get("reason").asText());
    assertEquals(0, status.get("last_shutdown").get("unanswered").asInt());
    assertTrue(status.get("providers").isArray(), "the channel's own field wins");
  }

  @Test
  void apiStatusSaysSoWhenTheProvidersAreMissing() throws Exception {
    GatewayStatus.Snapshot snapshot = new GatewayStatus.Snapshot(Optional.empty(), List.of(
        new ChannelStatus("http", 0, 100, "serving", Optional.empty(), 0),
        new ChannelStatus("discord", 0, 0, "unresponsive", Optional.of("did not report"), 0)), Map.of());
    Running gw = start(HttpChannelConfig.DEFAULT, Stubs.router(r -> Stubs.answered("p", "m", "x"), List.of()),
        Stubs.conversations(m -> Stubs.answered("p", "m", "x")), snapshot, Duration.ofSeconds(10));
    HttpResponse<String> response = get(gw.uri("/api/status"));
    assertEquals(200, response.statusCode());
    JsonNode status = json(response);
    assertEquals(0, status.get("providers").size());
    assertTrue(status.get("providers_error").isTextual());
    assertEquals("unresponsive", status.get("channels").get(1).get("state").asText());
    assertEquals("did not report", status.get("channels").get(1).get("last_error").asText());
  }

  @Test
  void metricsCountRequestsByOutcome() throws Exception {
    Running gw = start(Stubs.router(r -> Stubs.answered("p", "m", "x"), List.of()));
    post(gw.uri("/v1/chat/completions"), HELLO);
    post(gw.uri("/v1/chat/completions"), HELLO);
    post(gw.uri("/v1/chat/completions"), "nope");
    HttpResponse<String> response = get(gw.uri("/metrics"));
    assertEquals(200, response.statusCode());
    String contentType = response.headers().firstValue("Content-Type").orElse("");
    assertTrue(contentType.startsWith("text/plain") && contentType.contains("version=0.0.4"), contentType);
    String text = response.body();
    assertTrue(text.contains("switchboard_requests_total{channel=\"http\",outcome=\"ok\"} 2.0"), text);
    assertTrue(text.contains("switchboard_requests_total{channel=\"http\",outcome=\"invalid_request\"} 1.0"), text);
    assertTrue(text.contains("switchboard_pending_messages{channel=\"http\"} 0.0"), text);
    assertTrue(text.contains("switchboard_request_seconds_count{channel=\"http\"} 3"), text);
    assertTrue(text.contains("switchboard_busy_replies_total{channel=\"http\"} 0.0"), text);
  }

  @Test
  void rootServesAStatusPage() throws Exception {
    Running gw = start(Stubs.router(r -> Stubs.answered("p", "m", "x"), List.of()));
    HttpResponse<String> response = get(gw.uri("/"));
    assertEquals(200, response.statusCode());
    assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
    assertTrue(response.body().contains("/api/status"));
  }

  // ---- lifecycle ----

  @Test
  void afterACrashTheChannelBindsAgainAndServes() throws Exception {
    Running gw = start(Stubs.router(r -> Stubs.answered("p", "m", "x"), List.of()));
    assertEquals(200, post(gw.uri("/v1/chat/completions"), HELLO).statusCode());
    Crashable.crash(gw.channel());
    URI again = baseOf(awaitBinding(gw.channel()));
    assertEquals(200, get(again.resolve("/health")).statusCode());
    assertEquals(200, post(again.resolve("/v1/chat/completions"), HELLO).statusCode());
    assertEquals("serving", status(new Running(gw.channel(), again, gw.registry())).state());
    assertTrue(get(again.resolve("/metrics")).body().contains("switchboard_pending_messages{channel=\"http\"} 0.0"));
  }

  @Test
  void aBindFailureIsRetriedByTheSupervisorUntilThePortIsFree() throws Exception {
    ServerSocket occupied = new ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"));
    int port = occupied.getLocalPort();
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    ChannelContext context = new ChannelContext(
        testKit.spawn(Stubs.router(r -> Stubs.answered("p", "m", "x"), List.of())),
        testKit.spawn(Stubs.conversations(m -> Stubs.answered("p", "m", "x"))), registry, Duration.ofSeconds(10),
        java.nio.file.Path.of("target"), testKit.spawn(Behaviors.<GatewayStatus.Command>ignore()), new ProviderHistory(),
        Optional::empty);
    Behavior<Channel.Command> behavior = Behaviors.supervise(
            HttpChannel.create(HttpChannelConfig.DEFAULT.withPort(port), context))
        .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(50), Duration.ofMillis(200), 0));
    ActorRef<Channel.Command> channel = testKit.spawn(behavior);
    started.add(channel);
    TestProbe<InetSocketAddress> binding = testKit.createTestProbe();
    channel.tell(new HttpChannel.GetBinding(binding.ref()));
    binding.expectNoMessage(Duration.ofMillis(500));
    occupied.close();
    assertEquals(port, binding.receiveMessage(Duration.ofSeconds(20)).getPort());
    assertEquals(200, get(URI.create("http://127.0.0.1:" + port + "/health")).statusCode());
  }
}
