package switchboard.channels.http;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.delete;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequestEntity;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.handleExceptions;
import static org.apache.pekko.http.javadsl.server.Directives.handleRejections;
import static org.apache.pekko.http.javadsl.server.Directives.mapResponse;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.post;
import static org.apache.pekko.http.javadsl.server.Directives.withSizeLimit;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import switchboard.providers.wire.StreamDelta;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.actor.typed.Scheduler;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.RequestEntity;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import switchboard.channels.ChannelMetrics;
import switchboard.channels.ChannelStatus;
import switchboard.channels.GatewayStatus;
import switchboard.providers.ChatMessage;
import switchboard.providers.OutcomeKind;
import switchboard.providers.ProviderResult;
import switchboard.providers.ProviderStatus;
import switchboard.providers.ResetResult;
import switchboard.providers.observe.ProviderHistory;
import switchboard.providers.Stages;
import switchboard.router.ConversationActor;
import switchboard.router.ConversationsActor;
import switchboard.router.Idempotency;
import switchboard.router.RouteResult;
import switchboard.router.RouterActor;

/**
 * The routes of the HTTP channel (CONTRACT.md section 4). Runs on Pekko HTTP's threads and never
 * blocks: each message is an ask to the router or the conversations, answered by a CompletionStage.
 * Every error, including Pekko's own rejections and exceptions, leaves as
 * {@code {"error": {"type", "message", "provider"?}}}.
 */
final class HttpApi {
  private static final Logger log = LoggerFactory.getLogger(HttpApi.class);

  static final String PROVIDER_HEADER = "X-Switchboard-Provider";
  /** Says through what an operator's request came: {@code cli} or {@code status-page}. */
  static final String ORIGIN_HEADER = "X-Switchboard-Origin";
  /** A client's retry key (contract section 8); a stored answer sent again carries {@link #REPLAYED_HEADER}. */
  static final String IDEMPOTENCY_HEADER = "Idempotency-Key";
  static final String REPLAYED_HEADER = "Idempotent-Replayed";
  private static final Set<String> RESET_ORIGINS = Set.of("cli", "status-page");
  static final Duration STATUS_TIMEOUT = Duration.ofSeconds(3);
  /** How long reading a conversation's history may take (its recovery from the store included). */
  static final Duration STORE_TIMEOUT = Duration.ofSeconds(10);
  /** Longest wait for a request body to arrive completely. */
  static final Duration BODY_TIMEOUT = Duration.ofSeconds(30);
  /** Retry-After of the answer to a message that arrives during a shutdown: about a restart's time. */
  static final long SHUTDOWN_RETRY_AFTER_SECONDS = 5;
  /** A streamed answer not started this long after it was handed over (its caller is gone) frees its place. */
  static final Duration STREAM_START_GRACE = Duration.ofSeconds(20);

  private static final ContentType PROMETHEUS_TEXT =
      ContentTypes.parse("text/plain; version=0.0.4; charset=utf-8");
  private static final ContentType HTML = ContentTypes.TEXT_HTML_UTF8;
  private static final ContentType EVENT_STREAM = ContentTypes.parse("text/event-stream");
  private static final String INDEX_RESOURCE = "/switchboard/status/index.html";
  private static final String FALLBACK_INDEX =
      "<!doctype html><html><head><meta charset=\"utf-8\"><title>Switchboard</title></head>"
          + "<body><h1>Switchboard</h1><p>The gateway is up. Its state is at "
          + "<a href=\"/api/status\">/api/status</a>, its metrics at <a href=\"/metrics\">/metrics</a>.</p>"
          + "</body></html>";

  /** The status of each failure kind (CONTRACT.md section 4), in one table. */
  private static final Map<OutcomeKind, StatusCode> FAILURE_STATUS = new EnumMap<>(OutcomeKind.class);

  static {
    FAILURE_STATUS.put(OutcomeKind.OUT_OF_CREDITS, StatusCodes.PAYMENT_REQUIRED);
    FAILURE_STATUS.put(OutcomeKind.RATE_LIMITED, StatusCodes.TOO_MANY_REQUESTS);
    FAILURE_STATUS.put(OutcomeKind.BUDGET_EXCEEDED, StatusCodes.TOO_MANY_REQUESTS);
    FAILURE_STATUS.put(OutcomeKind.AUTH_FAILED, StatusCodes.BAD_GATEWAY);
    FAILURE_STATUS.put(OutcomeKind.BAD_REQUEST, StatusCodes.BAD_REQUEST);
    FAILURE_STATUS.put(OutcomeKind.UNAVAILABLE, StatusCodes.SERVICE_UNAVAILABLE);
  }

  /** A response and the outcome it is counted as in {@code switchboard_requests_total}. */
  private record Reply(HttpResponse response, String outcome) {}

  private final HttpChannelConfig config;
  private final Duration askTimeout;
  private final ActorRef<RouterActor.Command> router;
  private final ActorRef<ConversationsActor.Command> conversations;
  private final ActorRef<GatewayStatus.Command> status;
  private final PrometheusMeterRegistry registry;
  private final ActorSystem<?> system;
  private final PendingGate gate;
  private final ChannelMetrics metrics;
  private final Supplier<Optional<String>> notServing;
  private final byte[] indexPage;
  /** The {@code created} of every model in {@code GET /v1/models}: when this channel started. */
  private final long startedEpochSeconds;
  private final Optional<byte[]> token;
  private final ProviderHistory providerHistory;
  /** Where {@code /v1} answers with an {@code Idempotency-Key} are kept; empty without a store (keys then ignored). */
  private final Optional<ActorRef<IdempotencyStore.Command>> idempotencyStore;

  HttpApi(
      HttpChannelConfig config,
      Duration askTimeout,
      ActorRef<RouterActor.Command> router,
      ActorRef<ConversationsActor.Command> conversations,
      ActorRef<GatewayStatus.Command> status,
      PrometheusMeterRegistry registry,
      ActorSystem<?> system,
      PendingGate gate,
      ChannelMetrics metrics,
      Supplier<Optional<String>> notServing,
      ProviderHistory providerHistory,
      Optional<ActorRef<IdempotencyStore.Command>> idempotencyStore) {
    this.config = config;
    this.askTimeout = askTimeout;
    this.router = router;
    this.conversations = conversations;
    this.status = status;
    this.registry = registry;
    this.system = system;
    this.gate = gate;
    this.metrics = metrics;
    this.notServing = notServing;
    this.indexPage = loadIndexPage();
    this.startedEpochSeconds = Instant.now().getEpochSecond();
    this.token = config.authToken().map(t -> t.getBytes(StandardCharsets.UTF_8));
    this.providerHistory = providerHistory;
    this.idempotencyStore = idempotencyStore;
  }

  /** Every endpoint, sealed with the JSON rejection and exception handlers. */
  Route route() {
    // built once: the directives' suppliers run on every request, and building the whole tree
    // there was a sixth of what a request allocated
    Route endpoints = endpoints();
    Route sealed = handleRejections(rejectionHandler(), () -> endpoints);
    return handleExceptions(exceptionHandler(), () -> sealed);
  }

  private Route endpoints() {
    // each directive runs its inner supplier on every request it lets through, so every inner
    // route that does not depend on the request is built here, once, and handed back by once(...)
    Route completions = message((body, request) -> chatCompletion(body, idempotencyKey(request)));
    Route anthropic = message((body, request) -> anthropicMessages(body));
    Route v1 = concat(
        path("messages", once(mapResponse(AnthropicCodec::errorShaped,
            once(handleRejections(rejectionHandler(), once(authorized(post(once(anthropic))))))))),
        authorized(concat(
            path(segment("chat").slash("completions"), once(post(once(completions)))),
            path("models", () -> get(() -> completeWithFuture(models(Optional.empty())))),
            path(segment("models").slash(segment()), id -> get(() -> completeWithFuture(models(Optional.of(id))))))));
    Route api = authorized(concat(
        path("status", () -> get(() -> completeWithFuture(status()))),
        path(segment("providers").slash(segment()).slash("reset"), name -> post(() -> reset(name))),
        path("history", () -> get(() -> json(StatusCodes.OK, HistoryJson.of(providerHistory, metrics.history())))),
        path(segment("conversations").slash(segment()), id -> concat(
            get(() -> completeWithFuture(conversationHistory(id))),
            delete(() -> completeWithFuture(clearConversation(id))))),
        path(segment("conversations").slash(segment()).slash("messages"),
            id -> post(() -> message((body, request) -> conversationMessage(id, body, idempotencyKey(request)))))));
    return concat(
        path("health", () -> get(this::health)),
        path("metrics", () -> get(this::metricsText)),
        pathEndOrSingleSlash(() -> get(() -> complete(HttpEntities.create(HTML, indexPage)))),
        pathPrefix("v1", once(v1)),
        pathPrefix("api", once(api)));
  }

  /** A directive's inner route that is the same for every request. */
  private static Supplier<Route> once(Route route) {
    return () -> route;
  }

  /** The caller's {@value #IDEMPOTENCY_HEADER}, if it sent one. */
  private static Optional<String> idempotencyKey(HttpRequest request) {
    return request.getHeader(IDEMPOTENCY_HEADER).map(HttpHeader::value);
  }

  /**
   * {@link AskPattern#ask}, its reply continued on the thread that gives it rather than through
   * the common pool ({@link Stages#inline}).
   */
  private static <Req, Res> CompletableFuture<Res> ask(RecipientRef<Req> target,
      org.apache.pekko.japi.function.Function<ActorRef<Res>, Req> message, Duration timeout, Scheduler scheduler) {
    return Stages.inline(AskPattern.ask(target, message, timeout, scheduler));
  }

  // ---- messages ----

  /**
   * A message endpoint: reads the body up to the size limit, hands it to {@code handler}, and counts
   * the answer in the metrics, whatever it is.
   */
  private Route message(BiFunction<byte[], HttpRequest, CompletionStage<Reply>> handler) {
    Route read = extractRequest(request -> {
      long start = System.nanoTime();
      CompletionStage<Reply> reply =
          readBody(request.entity())
              .thenCompose(body -> handler.apply(body, request))
              .exceptionally(this::failureReply);
      return completeWithFuture(reply.thenApply(r -> {
        metrics.request(r.outcome(), start);
        return r.response();
      }));
    });
    return withSizeLimit(config.maxBodySize(), () -> read);
  }

  /**
   * The whole body, or a failure: {@link EntityStreamSizeException} when it is larger than the limit
   * (declared or chunked); any other read failure (a client too slow to send its body, a broken
   * connection) is the caller's {@link InvalidRequest}. A body over the limit is still read to its
   * end (up to {@link #DRAIN_LIMIT}) and thrown away, so the client has sent everything when the 413
   * comes: a server that answers and closes while the client is still sending makes the client's
   * socket reset, and the client never reads the 413.
   */
  private CompletionStage<byte[]> readBody(RequestEntity entity) {
    long declared = entity.getContentLengthOption().orElse(0L);
    long limit = config.maxBodySize();
    if (declared > Math.max(limit, DRAIN_LIMIT)) {
      return CompletableFuture.failedFuture(new EntityStreamSizeException(limit, scala.Option.apply(declared)));
    }
    if (entity instanceof HttpEntity.Strict strict) {
      // the whole body came with the head (every small request): no stream to run for it
      long size = strict.getData().size();
      return size > limit
          ? CompletableFuture.failedFuture(new EntityStreamSizeException(limit, scala.Option.apply(size)))
          : CompletableFuture.completedFuture(strict.getData().toArray());
    }
    CompletionStage<BodyReader> read;
    try {
      read = Stages.inline(entity.withoutSizeLimit().getDataBytes()
          .completionTimeout(BODY_TIMEOUT)
          .runFold(new BodyReader(limit), BodyReader::add, system));
    } catch (RuntimeException e) {
      read = CompletableFuture.failedFuture(e);
    }
    return read.handle((body, failure) -> {
      if (failure == null) {
        if (body.total > limit) {
          throw new EntityStreamSizeException(limit, scala.Option.apply(body.total));
        }
        return body.bytes.result().toArray();
      }
      Throwable cause = unwrap(failure);
      throw cause instanceof EntityStreamSizeException tooLarge
          ? tooLarge
          : new InvalidRequest("the request body could not be read: " + cause.getMessage());
    });
  }

  /** How much of a body over the limit is still read (and dropped) before the connection is cut instead. */
  static final long DRAIN_LIMIT = 16L * 1024 * 1024;

  /** A body being read: kept up to the limit, counted beyond it, failed beyond {@link #DRAIN_LIMIT}. */
  private static final class BodyReader {
    final long limit;
    final org.apache.pekko.util.ByteStringBuilder bytes = new org.apache.pekko.util.ByteStringBuilder();
    long total;

    BodyReader(long limit) {
      this.limit = limit;
    }

    BodyReader add(ByteString chunk) {
      total += chunk.size();
      if (total <= limit) {
        bytes.append(chunk);
      } else if (total > Math.max(limit, DRAIN_LIMIT)) {
        throw new EntityStreamSizeException(limit, scala.Option.apply(total));
      }
      return this;
    }
  }


  private CompletionStage<Reply> chatCompletion(byte[] body, Optional<String> key) {
    OpenAiCodec.ChatCall call = OpenAiCodec.parseChat(body, "http:chat-completions");
    Supplier<CompletionStage<Reply>> answer = () -> routed(call, HttpApi::completion,
        (deltas, model, provider) -> OpenAiStream.events(deltas, model, provider, call.streamUsage()));
    Optional<Idempotency> idempotency = idempotency(key, body);
    if (idempotency.isEmpty() || idempotencyStore.isEmpty() || call.stream()) {
      return answer.get();
    }
    ActorRef<IdempotencyStore.Command> store = idempotencyStore.get();
    return HttpApi.<IdempotencyStore.Command, IdempotencyStore.Decision>ask(
            store, replyTo -> new IdempotencyStore.Begin(idempotency.get(), replyTo), askTimeout, system.scheduler())
        .thenCompose(decision -> {
          if (decision instanceof IdempotencyStore.Replay replay) {
            return CompletableFuture.completedFuture(replayed(replay.response()));
          }
          if (decision == IdempotencyStore.Mismatch.INSTANCE) {
            return CompletableFuture.completedFuture(rejected(idempotency.get().mismatch()));
          }
          return answer.get()
              .exceptionally(this::failureReply)
              .thenApply(reply -> {
                store.tell(new IdempotencyStore.Complete(idempotency.get().key(), stored(reply.response())));
                return reply;
              });
        });
  }

  private CompletionStage<RouteResult> route(OpenAiCodec.ChatCall call) {
    return HttpApi.<RouterActor.Command, RouteResult>ask(router,
        replyTo -> new RouterActor.Route(call.request(), Optional.empty(), call.model(), replyTo), askTimeout,
        system.scheduler());
  }

  /**
   * {@code POST /v1/messages} (CONTRACT.md section 7): Anthropic's Messages API, routed like a chat
   * completion; answers, streams and errors in Anthropic's shapes (errors through
   * {@link AnthropicCodec#errorShaped}).
   */
  private CompletionStage<Reply> anthropicMessages(byte[] body) {
    ObjectNode root = OpenAiCodec.parseObject(body);
    if (!root.path("messages").isArray() || root.path("messages").isEmpty()) {
      throw new InvalidRequest("messages is required (a non-empty array of {\"role\", \"content\"})");
    }
    OpenAiCodec.ChatCall call = OpenAiCodec.chatCall(AnthropicCodec.toChat(root), "http:messages");
    return routed(call,
        answered -> reply(StatusCodes.OK, AnthropicCodec.message(answered.success()), providerHeader(answered.provider())),
        AnthropicCodec::events);
  }

  /** Writes the pieces of an answer as one surface's server-sent events. */
  @FunctionalInterface
  private interface StreamFormat {
    Source<ByteString, NotUsed> events(Source<StreamDelta, NotUsed> deltas, String model, String provider);
  }

  /**
   * Routes {@code call} and answers in one surface's shapes: {@code whole} for a whole answer, or
   * {@code format}'s events when the caller asked for a stream (a whole answer then goes out as a
   * stream of its pieces).
   */
  private CompletionStage<Reply> routed(
      OpenAiCodec.ChatCall call, Function<RouteResult.Answered, Reply> whole, StreamFormat format) {
    return admitted(
        () -> route(call),
        answered -> call.stream()
            ? eventStream(format.events(OpenAiStream.deltas(answered.success()), answered.success().model(),
                answered.provider()), answered.provider())
            : whole.apply(answered),
        streaming -> eventStream(format.events(streaming.streaming().deltas(), streaming.streaming().model(),
            streaming.provider()), streaming.provider()));
  }

  /** {@code GET /v1/models} (or one model, {@code GET /v1/models/{id}}): the routes and the providers' models. */
  private CompletionStage<HttpResponse> models(Optional<String> one) {
    return HttpApi.<RouterActor.Command, List<String>>ask(router, RouterActor.GetModels::new, STATUS_TIMEOUT,
            system.scheduler())
        .thenApply(models -> {
          long created = startedEpochSeconds;
          if (one.isPresent()) {
            return models.contains(one.get())
                ? jsonResponse(StatusCodes.OK, modelJson(one.get(), created), List.of())
                : error(StatusCodes.NOT_FOUND, "not_found", "The model \"" + one.get() + "\" does not exist here. "
                    + "Available models: " + String.join(", ", models) + ".", Optional.empty(), List.of()).response();
          }
          ObjectNode out = OpenAiCodec.JSON.createObjectNode();
          out.put("object", "list");
          ArrayNode data = out.putArray("data");
          models.forEach(m -> data.add(modelJson(m, created)));
          return jsonResponse(StatusCodes.OK, out, List.of());
        });
  }

  private static ObjectNode modelJson(String id, long created) {
    ObjectNode model = OpenAiCodec.JSON.createObjectNode();
    model.put("id", id).put("object", "model").put("created", created).put("owned_by", "switchboard");
    return model;
  }

  /** The request's {@code Idempotency-Key}, checked, with a hash of its body. */
  private static Optional<Idempotency> idempotency(Optional<String> key, byte[] body) {
    if (key.isEmpty()) {
      return Optional.empty();
    }
    String k = key.get().trim();
    if (k.isEmpty() || k.length() > Idempotency.MAX_KEY_LENGTH) {
      throw new InvalidRequest(IDEMPOTENCY_HEADER + " must be 1 to " + Idempotency.MAX_KEY_LENGTH + " characters");
    }
    return Optional.of(Idempotency.of(k, body));
  }

  private static IdempotencyStore.StoredResponse stored(HttpResponse response) {
    byte[] body = response.entity() instanceof HttpEntity.Strict strict ? strict.getData().toArray() : new byte[0];
    String provider = response.getHeader(PROVIDER_HEADER).map(HttpHeader::value).orElse("");
    return new IdempotencyStore.StoredResponse(
        response.status().intValue(), response.entity().getContentType().toString(), body, provider);
  }

  /** A stored answer sent again, marked {@code Idempotent-Replayed: true}. */
  private static Reply replayed(IdempotencyStore.StoredResponse stored) {
    HttpResponse response = HttpResponse.create()
        .withStatus(stored.status())
        .addHeader(RawHeader.create(REPLAYED_HEADER, "true"))
        .withEntity(HttpEntities.create(ContentTypes.parse(stored.contentType()), stored.body()));
    if (!stored.provider().isEmpty()) {
      response = response.addHeader(RawHeader.create(PROVIDER_HEADER, stored.provider()));
    }
    return new Reply(response, stored.status() == 200 ? "ok" : "replayed_error");
  }

  private static Reply rejected(RouteResult.Rejected rejected) {
    return new Reply(jsonResponse(StatusCodes.BAD_REQUEST,
        OpenAiCodec.error("invalid_request", rejected.message(), Optional.empty(), rejected.code()), List.of()),
        "invalid_request");
  }

  private static Reply completion(RouteResult.Answered answered) {
    return new Reply(jsonResponse(StatusCodes.OK,
        OpenAiCodec.completion(answered.success(), Instant.now().getEpochSecond()),
        providerHeader(answered.provider())), "ok");
  }

  /**
   * {@code stream: true}: server-sent events, each sent as it is produced (a chunked entity); the
   * caller going away cancels the stream and with it the provider's call. Errors before the first
   * piece stay ordinary JSON errors.
   */
  private static Reply eventStream(Source<ByteString, NotUsed> events, String provider) {
    HttpResponse response = HttpResponse.create()
        .addHeaders(providerHeader(provider))
        .addHeader(RawHeader.create("Cache-Control", "no-cache"))
        .addHeader(RawHeader.create("X-Accel-Buffering", "no"))
        .withEntity(HttpEntities.create(EVENT_STREAM, events));
    return new Reply(response, "ok");
  }

  private CompletionStage<Reply> conversationMessage(String id, byte[] body, Optional<String> key) {
    String text = OpenAiCodec.parseConversationText(body);
    String conversationId = "http:" + id;
    Optional<Idempotency> idempotency = idempotency(key, body);
    return admitted(
        () -> HttpApi.<ConversationsActor.Command, RouteResult>ask(
            conversations,
            replyTo -> new ConversationsActor.UserMessage(conversationId, text, idempotency, replyTo),
            askTimeout,
            system.scheduler()),
        answered -> {
          ObjectNode out = OpenAiCodec.JSON.createObjectNode();
          out.put("conversation", id);
          out.put("reply", answered.text());
          out.put("provider", answered.provider());
          return reply(StatusCodes.OK, out, providerHeader(answered.provider()));
        });
  }

  /** {@code GET /api/conversations/{id}}: the stored history, or 404 when it has none (never seen, or cleared). */
  private CompletionStage<HttpResponse> conversationHistory(String id) {
    return HttpApi.<ConversationsActor.Command, ConversationActor.Turns>ask(
            conversations, replyTo -> new ConversationsActor.GetHistory("http:" + id, replyTo), STORE_TIMEOUT,
            system.scheduler())
        .thenApply(turns -> {
          List<ChatMessage> messages = turns.messages();
          if (messages.isEmpty()) {
            return error(StatusCodes.NOT_FOUND, "not_found", "Conversation " + id + " has no history.",
                Optional.empty(), List.of()).response();
          }
          ObjectNode out = OpenAiCodec.JSON.createObjectNode();
          out.put("conversation", id);
          ArrayNode array = out.putArray("messages");
          messages.forEach(m -> array.addObject().put("role", m.role()).put("content", m.content()));
          if (!turns.node().isEmpty()) {
            out.put("node", turns.node());
          }
          return jsonResponse(StatusCodes.OK, out, List.of());
        })
        .exceptionally(failure -> storeUnavailable(id, failure));
  }

  /** {@code DELETE /api/conversations/{id}}: clears the history in the store (after earlier messages are answered); 204. */
  private CompletionStage<HttpResponse> clearConversation(String id) {
    return HttpApi.<ConversationsActor.Command, ConversationsActor.Done>ask(
            conversations, replyTo -> new ConversationsActor.Reset("http:" + id, replyTo), askTimeout, system.scheduler())
        .thenApply(done -> HttpResponse.create().withStatus(StatusCodes.NO_CONTENT))
        .exceptionally(failure -> storeUnavailable(id, failure));
  }

  private HttpResponse storeUnavailable(String id, Throwable failure) {
    log.warn("HTTP channel: conversation {} did not answer: {}", id, unwrap(failure).toString());
    return error(StatusCodes.SERVICE_UNAVAILABLE, "unavailable",
        "Conversation " + id + " could not be read from the conversation store just now. Please try again.",
        Optional.empty(), List.of(RetryAfter.create(SHUTDOWN_RETRY_AFTER_SECONDS))).response();
  }

  /**
   * Runs {@code ask} if the channel has room, else answers {@code busy} at once (or {@code unavailable}
   * while the channel drains for a shutdown). The permit is released exactly once when the ask ends,
   * by answer, failure or timeout.
   */
  private CompletionStage<Reply> admitted(
      Supplier<CompletionStage<RouteResult>> ask, Function<RouteResult.Answered, Reply> onAnswer) {
    return admitted(ask, onAnswer, streaming -> {
      throw new IllegalStateException("a streamed answer to a request that did not ask for one");
    });
  }

  /**
   * Like {@link #admitted(Supplier, Function)}, with {@code onStream} for a streamed answer. A
   * stream keeps its permit until it ends, so a drain for a shutdown waits for streams in progress
   * (up to {@code shutdown-timeout}) as it waits for whole answers.
   */
  private CompletionStage<Reply> admitted(
      Supplier<CompletionStage<RouteResult>> ask, Function<RouteResult.Answered, Reply> onAnswer,
      Function<RouteResult.Streaming, Reply> onStream) {
    Optional<PendingGate.Permit> permit = gate.tryAcquire();
    if (permit.isEmpty() && gate.isClosed()) {
      return CompletableFuture.completedFuture(shuttingDown());
    }
    if (permit.isEmpty()) {
      metrics.busy();
      return CompletableFuture.completedFuture(busy());
    }
    CompletionStage<RouteResult> result;
    try {
      result = ask.get();
    } catch (RuntimeException e) {
      permit.get().release();
      throw e;
    }
    return result
        .whenComplete((r, failure) -> {
          if (!(r instanceof RouteResult.Streaming)) {
            permit.get().release();
          }
        })
        .thenApply(r -> r instanceof RouteResult.Answered answered ? onAnswer.apply(answered)
            : r instanceof RouteResult.Streaming streaming ? onStream.apply(holding(streaming, permit.get()))
            : r instanceof RouteResult.Rejected rejected ? rejected(rejected) : failed((RouteResult.Failed) r));
  }

  /**
   * {@code streaming} with {@code permit} released when its stream ends or is cancelled; a stream
   * not started within {@link #STREAM_START_GRACE} (its caller was gone before the response went
   * out) is cancelled then.
   */
  private RouteResult.Streaming holding(RouteResult.Streaming streaming, PendingGate.Permit permit) {
    java.util.concurrent.atomic.AtomicBoolean started = new java.util.concurrent.atomic.AtomicBoolean();
    ProviderResult.Streaming s = streaming.streaming();
    Source<StreamDelta, NotUsed> deltas = s.deltas()
        .mapMaterializedValue(notUsed -> {
          started.set(true);
          return notUsed;
        })
        .watchTermination((notUsed, done) -> {
          done.whenComplete((ok, failure) -> permit.release());
          return notUsed;
        });
    system.scheduler().scheduleOnce(STREAM_START_GRACE, () -> {
      if (!started.get()) {
        // the response never went out: cancel the stream, which closes the provider's call and
        // accounts for it (and frees the permit) like any other ended stream
        deltas.runWith(org.apache.pekko.stream.javadsl.Sink.cancelled(), system);
      }
    }, system.executionContext());
    return new RouteResult.Streaming(
        new ProviderResult.Streaming(s.provider(), s.keyAlias(), s.model(), deltas, s.calls()), streaming.fellBackFrom());
  }

  private Reply busy() {
    String message = "The gateway is busy: " + gate.max() + " messages are already waiting for an answer. "
        + "Please try again in a moment.";
    return error(StatusCodes.SERVICE_UNAVAILABLE, "busy", message, Optional.empty(), List.of(RetryAfter.create(1L)));
  }

  /** A message that arrives while the channel drains: not accepted, so the caller can retry elsewhere or later. */
  private static Reply shuttingDown() {
    return error(StatusCodes.SERVICE_UNAVAILABLE, "unavailable",
        "The gateway is shutting down and accepts no new messages. Please try again in a moment.",
        Optional.empty(), List.of(RetryAfter.create(SHUTDOWN_RETRY_AFTER_SECONDS)));
  }

  private Reply failed(RouteResult.Failed failed) {
    StatusCode status = FAILURE_STATUS.getOrDefault(failed.kind(), StatusCodes.INTERNAL_SERVER_ERROR);
    List<HttpHeader> headers = new ArrayList<>();
    failed.retryAfter().ifPresent(wait -> headers.add(RetryAfter.create(retryAfterSeconds(wait))));
    Optional<String> provider = Optional.ofNullable(failed.provider()).filter(p -> !p.isEmpty());
    provider.ifPresent(p -> headers.add(RawHeader.create(PROVIDER_HEADER, p)));
    return error(status, failed.kind().wire(), failed.message(), provider, headers);
  }

  /** The answer for a failed body read, parse or ask. */
  private Reply failureReply(Throwable failure) {
    Throwable cause = unwrap(failure);
    if (cause instanceof InvalidRequest invalid) {
      return error(StatusCodes.BAD_REQUEST, "invalid_request", invalid.getMessage(), Optional.empty(), List.of());
    }
    if (cause instanceof EntityStreamSizeException) {
      return tooLarge();
    }
    if (cause instanceof TimeoutException) {
      return error(StatusCodes.SERVICE_UNAVAILABLE, "unavailable",
          "No answer within " + askTimeout.toSeconds() + "s: every provider failed or timed out.",
          Optional.empty(), List.of());
    }
    log.error("HTTP channel: unexpected failure while answering a message", cause);
    return error(StatusCodes.INTERNAL_SERVER_ERROR, "internal_error",
        "The gateway failed to answer: " + cause.getClass().getSimpleName(), Optional.empty(), List.of());
  }

  private Reply tooLarge() {
    return error(StatusCodes.CONTENT_TOO_LARGE, "too_large",
        "The request body is larger than the limit of " + config.maxBodySize() + " bytes.",
        Optional.empty(), List.of());
  }

  // ---- operators ----

  /**
   * {@code POST /api/providers/{name}/reset} with an optional {@code {"key": "alias"}}: closes the
   * provider's breakers (or one key's) through the router. Who asked is taken from
   * {@code X-Switchboard-Origin} ({@code cli} or {@code status-page}; anything else is {@code http}).
   */
  private Route reset(String provider) {
    return optionalHeaderValueByName(ORIGIN_HEADER, origin ->
        withSizeLimit(config.maxBodySize(), () -> extractRequestEntity(entity -> completeWithFuture(
            readBody(entity)
                .thenCompose(body -> reset(provider, OpenAiCodec.parseResetKey(body), resetBy(origin)))
                .exceptionally(this::failureReply)
                .thenApply(Reply::response)))));
  }

  private CompletionStage<Reply> reset(String provider, Optional<String> key, String by) {
    return HttpApi.<RouterActor.Command, ResetResult>ask(
            router, replyTo -> new RouterActor.ResetProvider(provider, key, by, replyTo), STATUS_TIMEOUT, system.scheduler())
        .thenApply(result -> switch (result.outcome()) {
          case UNKNOWN_PROVIDER -> error(StatusCodes.NOT_FOUND, "not_found",
              "There is no provider named " + provider + ".", Optional.empty(), List.of());
          case UNKNOWN_KEY -> error(StatusCodes.NOT_FOUND, "not_found",
              "Provider " + provider + " has no key " + key.orElse("") + ".", Optional.of(provider), List.of());
          case RESET -> {
            ObjectNode out = OpenAiCodec.JSON.createObjectNode();
            out.put("provider", provider);
            out.put("key", key.orElse(null));
            out.put("reset_by", by);
            out.put("closed", result.closed());
            result.status().ifPresent(status -> out.set("status", providerJson(status)));
            yield reply(StatusCodes.OK, out, List.of());
          }
        });
  }

  /** Through what a reset came, from a short fixed list (it becomes a log word and a metrics tag). */
  static String resetBy(Optional<String> origin) {
    String said = origin.map(o -> o.trim().toLowerCase(Locale.ROOT)).orElse("");
    return RESET_ORIGINS.contains(said) ? said : "http";
  }

  // ---- status, health, metrics ----

  /** 200 {@code {"status":"up"}}, or 503 with the reason while this node may not serve (e.g. not an Up cluster member). */
  private Route health() {
    ObjectNode out = OpenAiCodec.JSON.createObjectNode();
    Optional<String> why = notServing.get();
    out.put("status", why.isEmpty() ? "up" : "down");
    why.ifPresent(reason -> out.put("reason", reason));
    return json(why.isEmpty() ? StatusCodes.OK : StatusCodes.SERVICE_UNAVAILABLE, out);
  }

  private Route metricsText() {
    return complete(HttpResponse.create().withEntity(HttpEntities.create(PROMETHEUS_TEXT,
        registry.scrape().getBytes(StandardCharsets.UTF_8))));
  }

  /**
   * {@code GET /api/status}: the gateway's status as its status actor gathered it (providers, channels,
   * alerts, last shutdown, cluster), rendered; with the status actor gone, the providers are reported
   * missing and nothing else is shown, so the page still loads.
   */
  private CompletionStage<HttpResponse> status() {
    return HttpApi.<GatewayStatus.Command, GatewayStatus.Snapshot>ask(
            status, GatewayStatus.Get::new, STATUS_TIMEOUT.plusSeconds(1), system.scheduler())
        .exceptionally(failure -> new GatewayStatus.Snapshot(Optional.empty(), List.of(), Map.of()))
        .thenApply(snapshot -> jsonResponse(StatusCodes.OK, statusJson(snapshot), List.of()));
  }

  private ObjectNode statusJson(GatewayStatus.Snapshot snapshot) {
    ObjectNode out = OpenAiCodec.JSON.createObjectNode();
    ArrayNode providerArray = out.putArray("providers");
    snapshot.providers().ifPresentOrElse(
        list -> list.forEach(p -> providerArray.add(providerJson(p))),
        () -> out.put("providers_error", "the router did not answer within " + STATUS_TIMEOUT.toSeconds() + "s"));
    ArrayNode channelArray = out.putArray("channels");
    snapshot.channels().forEach(c -> channelArray.add(channelJson(c)));
    out.put("uptime_seconds", system.uptime());
    snapshot.extras().forEach((name, value) -> {
      if (!out.has(name)) {
        out.set(name, OpenAiCodec.JSON.valueToTree(value));
      }
    });
    return out;
  }

  private static ObjectNode channelJson(ChannelStatus status) {
    ObjectNode out = OpenAiCodec.JSON.createObjectNode();
    out.put("name", status.name());
    out.put("pending", status.pending());
    out.put("max_pending", status.maxPending());
    out.put("state", status.state());
    out.put("last_error", status.lastError().orElse(null));
    out.put("busy_replies", status.busyReplies());
    return out;
  }

  private static ObjectNode providerJson(ProviderStatus p) {
    ObjectNode out = OpenAiCodec.JSON.createObjectNode();
    out.put("name", p.name());
    out.put("priority", p.priority());
    out.put("state", p.state().wire());
    out.put("reason", p.reason().orElse(null));
    out.put("open_until", p.openUntil().map(Instant::toString).orElse(null));
    ArrayNode keys = out.putArray("keys");
    for (ProviderStatus.KeyStatus key : p.keys()) {
      ObjectNode k = keys.addObject();
      k.put("alias", key.alias());
      k.put("state", key.state().wire());
      k.put("reason", key.reason().orElse(null));
      k.put("open_until", key.openUntil().map(Instant::toString).orElse(null));
      k.put("cooling_until", key.coolingUntil().map(Instant::toString).orElse(null));
      k.set("accounting", accountingJson(key.accounting()));
    }
    out.put("kind", p.kind());
    out.put("model", p.model());
    out.put("fallback_only", p.fallbackOnly());
    out.set("accounting", accountingJson(p.accounting()));
    ObjectNode throttle = out.putObject("throttle");
    throttle.put("requests_left", p.throttle().requestsLeft());
    throttle.put("tokens_left", p.throttle().tokensLeft());
    throttle.put("queued", p.throttle().queued());
    return out;
  }

  private static ObjectNode accountingJson(ProviderStatus.Accounting a) {
    ObjectNode out = OpenAiCodec.JSON.createObjectNode();
    out.put("calls", a.calls());
    out.put("input_tokens", a.inputTokens());
    out.put("output_tokens", a.outputTokens());
    out.put("spend_total", a.spendTotal());
    out.put("spend_today", a.spendToday());
    out.put("spend_month", a.spendMonth());
    return out;
  }

  // ---- auth, rejections, exceptions ----

  /** {@code inner} when no token is configured or the bearer matches it (constant-time), else 401. */
  private Route authorized(Route inner) {
    if (token.isEmpty()) {
      return inner;
    }
    return optionalHeaderValueByName("Authorization", header -> optionalHeaderValueByName("x-api-key", apiKey -> {
      if (header.map(this::bearerMatches).orElse(false) || apiKey.map(this::tokenMatches).orElse(false)) {
        return inner;
      }
      metrics.count("unauthorized");
      String message = header.isEmpty()
          ? "Missing Authorization: Bearer <token> header (or x-api-key: <token>)."
          : "The bearer token is not valid.";
      return complete(error(StatusCodes.UNAUTHORIZED, "unauthorized", message, Optional.empty(),
          List.of(RawHeader.create("WWW-Authenticate", "Bearer"))).response());
    }));
  }

  /** The gateway token given as {@code x-api-key} (what Anthropic's SDKs send), compared in constant time. */
  private boolean tokenMatches(String value) {
    return MessageDigest.isEqual(token.get(), value.trim().getBytes(StandardCharsets.UTF_8));
  }

  private boolean bearerMatches(String header) {
    String prefix = "bearer ";
    if (header.length() < prefix.length() || !header.substring(0, prefix.length()).toLowerCase(Locale.ROOT).equals(prefix)) {
      return false;
    }
    return tokenMatches(header.substring(prefix.length()));
  }

  /** Pekko's rejections (404, 405, ...) with their status and text, in the JSON error shape. */
  private static RejectionHandler rejectionHandler() {
    return REJECTIONS;
  }

  /** Built once: the route asks for it on every request. */
  private static final RejectionHandler REJECTIONS =
      RejectionHandler.defaultHandler().mapRejectionResponse(HttpApi::asJsonError);

  private static HttpResponse asJsonError(HttpResponse response) {
    if (response.entity().getContentType().equals(ContentTypes.APPLICATION_JSON)) {
      return response;
    }
    String text = response.entity() instanceof HttpEntity.Strict strict
        ? strict.getData().utf8String()
        : response.status().reason();
    int code = response.status().intValue();
    String type = switch (code) {
      case 401 -> "unauthorized";
      case 404 -> "not_found";
      case 405 -> "method_not_allowed";
      case 406 -> "not_acceptable";
      case 413 -> "too_large";
      case 415 -> "unsupported_media_type";
      default -> code >= 500 ? "internal_error" : "invalid_request";
    };
    return response.withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON,
        OpenAiCodec.bytes(OpenAiCodec.error(type, text, Optional.empty()))));
  }

  private ExceptionHandler exceptionHandler() {
    return ExceptionHandler.newBuilder()
        .matchAny(failure -> complete(failureReply(failure).response()))
        .build();
  }

  // ---- responses ----

  private static Reply reply(StatusCode status, ObjectNode body, List<HttpHeader> headers) {
    return new Reply(jsonResponse(status, body, headers), "ok");
  }

  private static Reply error(
      StatusCode status, String type, String message, Optional<String> provider, List<HttpHeader> headers) {
    return new Reply(jsonResponse(status, OpenAiCodec.error(type, message, provider), headers), type);
  }

  private static Route json(StatusCode status, ObjectNode body) {
    return complete(jsonResponse(status, body, List.of()));
  }

  private static HttpResponse jsonResponse(StatusCode status, ObjectNode body, List<HttpHeader> headers) {
    return jsonResponse(status, OpenAiCodec.bytes(body), headers);
  }

  /** {@code body} is the response's own from here on: the entity takes it without a copy. */
  private static HttpResponse jsonResponse(StatusCode status, byte[] body, List<HttpHeader> headers) {
    return HttpResponse.create()
        .withStatus(status)
        .addHeaders(headers)
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, ByteString.fromArrayUnsafe(body)));
  }

  private static List<HttpHeader> providerHeader(String provider) {
    return List.of(RawHeader.create(PROVIDER_HEADER, provider));
  }

  /** Whole seconds to wait, rounded up, at least 1. */
  static long retryAfterSeconds(Duration wait) {
    long millis = Math.max(0, wait.toMillis());
    return Math.max(1, (millis + 999) / 1000);
  }

  private static Throwable unwrap(Throwable failure) {
    Throwable t = failure;
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    Throwable cause = t;
    while (cause != null) {
      if (cause instanceof EntityStreamSizeException) {
        return cause;
      }
      cause = cause.getCause();
    }
    return t;
  }

  private static byte[] loadIndexPage() {
    try (InputStream in = HttpApi.class.getResourceAsStream(INDEX_RESOURCE)) {
      if (in != null) {
        return in.readAllBytes();
      }
    } catch (IOException e) {
      log.warn("HTTP channel: could not read {}; serving the fallback page", INDEX_RESOURCE, e);
    }
    return FALLBACK_INDEX.getBytes(StandardCharsets.UTF_8);
  }
}
