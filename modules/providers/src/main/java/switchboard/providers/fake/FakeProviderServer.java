package switchboard.providers.fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import switchboard.providers.ErrorClassifier;

/**
 * A fault-injecting fake LLM provider on 127.0.0.1, speaking both wire formats: OpenAI's
 * {@code POST /v1/chat/completions} and Anthropic's {@code POST /v1/messages}. Each call takes the
 * next {@link Step} of a script (then the default step, a well-formed completion echoing the last
 * user message), and every call is recorded with its arrival time, so tests and
 * {@code switchboard simulate} can show exactly how many calls a gateway spends on a failure.
 * Delays are scheduled, never slept; a hung call holds its connection until {@link #reset} or
 * {@link #close}.
 */
public final class FakeProviderServer implements AutoCloseable {

  /** What a step does with its call. */
  public enum Action {
    /** Answer with the step's status, headers and body. */
    RESPOND,
    /** Never answer (until the server is reset or closed). */
    HANG,
    /** Close the connection without any answer. */
    CLOSE
  }

  /**
   * One scripted answer.
   *
   * @param body the exact body; empty = a canned realistic body for the status in the call's wire format
   * @param errorType for a canned error body, the error type/code to put in it instead of the usual one
   * @param text for a 200, the completion text (empty = echo the last user message)
   */
  public record Step(
      Action action, int status, Map<String, String> headers, Optional<String> body, Duration delay,
      Optional<String> errorType, Optional<String> text, Optional<Tool> tool, StreamPlan stream) {

    public Step {
      headers = Map.copyOf(headers);
    }

    public Step(
        Action action, int status, Map<String, String> headers, Optional<String> body, Duration delay,
        Optional<String> errorType, Optional<String> text) {
      this(action, status, headers, body, delay, errorType, text, Optional.empty(), StreamPlan.DEFAULT);
    }

    /** A 200 whose answer is a call of tool {@code name} with {@code arguments} (JSON text). */
    public static Step toolCall(String name, String arguments) {
      return ok().withTool(new Tool(name, arguments));
    }

    /** For a streamed answer: {@code chunks} pieces of text, {@code every} apart. */
    public Step withChunks(int chunks, Duration every) {
      return withStream(new StreamPlan(chunks, every, stream.fault(), stream.after(), stream.errorType()));
    }

    /**
     * For a streamed answer: after {@code after} pieces of text, {@code fault} instead of the rest
     * ({@code errorType} is the error event's type for {@link StreamFault#ERROR}).
     */
    public Step withStreamFault(StreamFault fault, int after) {
      return withStream(new StreamPlan(stream.chunks(), stream.every(), fault, after, stream.errorType()));
    }

    public Step withStream(StreamPlan plan) {
      return new Step(action, status, headers, body, delay, errorType, text, tool, plan);
    }

    public Step withTool(Tool newTool) {
      return new Step(action, status, headers, body, delay, errorType, text, Optional.of(newTool), stream);
    }

    /** A well-formed 200 completion echoing the last user message. */
    public static Step ok() {
      return new Step(Action.RESPOND, 200, Map.of(), Optional.empty(), Duration.ZERO, Optional.empty(), Optional.empty());
    }

    /** A well-formed 200 completion with {@code text}. */
    public static Step ok(String text) {
      return ok().withText(text);
    }

    /** {@code status} with the canned body of that status (e.g. 402 insufficient credits, 502 HTML). */
    public static Step status(int status) {
      return new Step(Action.RESPOND, status, Map.of(), Optional.empty(), Duration.ZERO, Optional.empty(), Optional.empty());
    }

    /** {@code status} with exactly {@code body} (JSON content type unless a header says otherwise). */
    public static Step status(int status, String body) {
      return status(status).withBody(body);
    }

    /** A 429 rate limit asking to wait {@code seconds} ({@code Retry-After}). */
    public static Step rateLimited(long seconds) {
      return status(429).withHeader("retry-after", Long.toString(seconds));
    }

    /** A 200 whose body is not JSON at all. */
    public static Step garbage() {
      return status(200, "upstream connect error or disconnect/reset before headers")
          .withHeader("content-type", "text/plain");
    }

    /** Accept the call and never answer. */
    public static Step hang() {
      return new Step(Action.HANG, 0, Map.of(), Optional.empty(), Duration.ZERO, Optional.empty(), Optional.empty());
    }

    /** Close the connection without answering. */
    public static Step close() {
      return new Step(Action.CLOSE, 0, Map.of(), Optional.empty(), Duration.ZERO, Optional.empty(), Optional.empty());
    }

    public Step withDelay(Duration newDelay) {
      return new Step(action, status, headers, body, newDelay, errorType, text, tool, stream);
    }

    public Step withHeader(String name, String value) {
      Map<String, String> more = new LinkedHashMap<>(headers);
      more.put(name.toLowerCase(Locale.ROOT), value);
      return new Step(action, status, more, body, delay, errorType, text, tool, stream);
    }

    public Step withBody(String newBody) {
      return new Step(action, status, headers, Optional.of(newBody), delay, errorType, text, tool, stream);
    }

    public Step withErrorType(String type) {
      return new Step(action, status, headers, body, delay, Optional.of(type), text, tool, stream);
    }

    public Step withText(String newText) {
      return new Step(action, status, headers, body, delay, errorType, Optional.of(newText), tool, stream);
    }
  }

  /** A tool call a scripted answer makes: the function's name and its arguments as JSON text. */
  public record Tool(String name, String arguments) {}

  /** What goes wrong in a streamed answer, after some pieces of text. */
  public enum StreamFault {
    /** Nothing: the stream ends normally. */
    NONE,
    /** An error event (OpenAI: a chunk with {@code error}; Anthropic: {@code event: error}), then the end. */
    ERROR,
    /** The connection is dropped in the middle of the body. */
    DROP,
    /** No more bytes, the connection held open (until reset or close). */
    STALL,
    /** The body ends cleanly but without the format's end marker ({@code [DONE]}, {@code message_stop}). */
    CUT
  }

  /**
   * How a streamed answer (a call with {@code "stream": true}) is sent.
   *
   * @param chunks how many pieces the text is split into
   * @param every the pause before each piece
   * @param fault what happens after {@code after} pieces
   * @param errorType for {@link StreamFault#ERROR}: the error's type
   */
  public record StreamPlan(int chunks, Duration every, StreamFault fault, int after, String errorType) {
    public static final StreamPlan DEFAULT = new StreamPlan(3, Duration.ZERO, StreamFault.NONE, 0, "overloaded_error");
  }

  /**
   * One call as it arrived.
   *
   * @param auth the value of {@code Authorization} (OpenAI format) or {@code x-api-key} (Anthropic)
   * @param headers request headers, lower-case names
   */
  public record RecordedCall(String path, Instant at, String auth, Map<String, String> headers, String body) {
    public RecordedCall {
      headers = Map.copyOf(headers);
    }

    /** The API key the call carried, without the {@code Bearer } prefix. */
    public String apiKey() {
      return auth.startsWith("Bearer ") ? auth.substring("Bearer ".length()) : auth;
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern REPEAT = Pattern.compile("^(.+?)x(\\d+)$");

  private final HttpServer server;
  private final ExecutorService handlers;
  private final ScheduledExecutorService scheduler;
  private final Deque<Step> script = new ArrayDeque<>();
  private final List<RecordedCall> calls = new CopyOnWriteArrayList<>();
  private final List<HttpExchange> hung = Collections.synchronizedList(new ArrayList<>());
  private final AtomicLong ids = new AtomicLong();
  private final java.util.concurrent.atomic.AtomicInteger cancelledStreams = new java.util.concurrent.atomic.AtomicInteger();
  private volatile Step defaultStep = Step.ok();
  /** When set, chooses the step of every call past the script, and calls are not kept in {@link #calls}. */
  private volatile java.util.function.Function<RecordedCall, Step> chooser;

  private FakeProviderServer(HttpServer server) {
    this.server = server;
    this.handlers = Executors.newFixedThreadPool(4, daemon("fake-provider-http"));
    this.scheduler = Executors.newSingleThreadScheduledExecutor(daemon("fake-provider-delays"));
    server.setExecutor(handlers);
    server.createContext("/", this::handle);
  }

  /** Starts a server on 127.0.0.1:{@code port} (0 = any free port). */
  public static FakeProviderServer start(int port) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
    FakeProviderServer fake = new FakeProviderServer(server);
    server.start();
    return fake;
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** The {@code base-url} of an {@code openai} provider pointing here. */
  public String openAiBaseUrl() {
    return "http://127.0.0.1:" + port() + "/v1";
  }

  /** The {@code base-url} of an {@code anthropic} provider pointing here. */
  public String anthropicBaseUrl() {
    return "http://127.0.0.1:" + port();
  }

  /** Appends steps for the next calls, in order. */
  public void enqueue(Step... steps) {
    synchronized (script) {
      script.addAll(List.of(steps));
    }
  }

  /** Appends steps for the next calls, in order. */
  public void enqueue(List<Step> steps) {
    synchronized (script) {
      script.addAll(steps);
    }
  }

  /** The step used once the script is used up. */
  public void setDefault(Step step) {
    defaultStep = step;
  }

  /**
   * Answers every call past the script with the step {@code choose} gives for it, instead of the
   * default step. The chooser sees each call as it arrives (on a handler thread, so it must be quick
   * and thread-safe) and becomes its record: {@link #calls} no longer keeps them, which bounds the
   * memory of a long soak ({@code switchboard chaos}).
   */
  public void answerWith(java.util.function.Function<RecordedCall, Step> choose) {
    chooser = choose;
  }

  /** Every call so far, in arrival order. */
  public List<RecordedCall> calls() {
    return List.copyOf(calls);
  }

  /** Forgets script, calls and default; releases hung calls by closing their connections. */
  public void reset() {
    synchronized (script) {
      script.clear();
    }
    calls.clear();
    cancelledStreams.set(0);
    defaultStep = Step.ok();
    releaseHung();
  }

  @Override
  public void close() {
    releaseHung();
    server.stop(0);
    scheduler.shutdownNow();
    handlers.shutdownNow();
  }

  /**
   * Parses a script for the command line: comma-separated steps, each a word with optional
   * {@code :name=value} options and an optional repeat count {@code xN} at the end.
   *
   * <pre>
   *   ok | hang | close | garbage | a status (100-599, with a canned realistic body)
   *   stream-error | stream-drop | stream-stall | stream-cut   (an ok whose stream fails after=N pieces)
   *   options: retry-after=SECONDS  delay=250ms|2s  type=ERROR_TYPE  text=REPLY_TEXT  tool=FUNCTION_NAME
   *            chunks=N  every=100ms  after=N   (how a streamed answer is sent)
   *   e.g.  402,429:retry-after=1,500x3,hang,close,ok:delay=2s,ok:chunks=20:every=100ms,stream-error:after=2
   * </pre>
   *
   * @throws IllegalArgumentException naming the step that is not understood
   */
  public static List<Step> parseScript(String text) {
    List<Step> steps = new ArrayList<>();
    if (text == null || text.isBlank()) {
      return steps;
    }
    for (String raw : text.split(",")) {
      String item = raw.trim();
      int times = 1;
      Matcher repeat = REPEAT.matcher(item);
      if (repeat.matches()) {
        item = repeat.group(1);
        times = Integer.parseInt(repeat.group(2));
        if (times < 1 || times > 10_000) {
          throw new IllegalArgumentException("\"" + raw.trim() + "\": repeat count must be 1 to 10000");
        }
      }
      String[] parts = item.split(":");
      Step step = word(parts[0].trim(), raw.trim());
      for (int i = 1; i < parts.length; i++) {
        step = option(step, parts[i].trim(), raw.trim());
      }
      for (int i = 0; i < times; i++) {
        steps.add(step);
      }
    }
    return steps;
  }

  private static Step word(String word, String raw) {
    switch (word) {
      case "ok":
        return Step.ok();
      case "hang":
        return Step.hang();
      case "close":
        return Step.close();
      case "garbage":
        return Step.garbage();
      case "stream-error":
        return Step.ok().withStreamFault(StreamFault.ERROR, 1);
      case "stream-drop":
        return Step.ok().withStreamFault(StreamFault.DROP, 1);
      case "stream-stall":
        return Step.ok().withStreamFault(StreamFault.STALL, 1);
      case "stream-cut":
        return Step.ok().withStreamFault(StreamFault.CUT, 1);
      default:
        try {
          int status = Integer.parseInt(word);
          if (status >= 100 && status <= 599) {
            return Step.status(status);
          }
        } catch (NumberFormatException e) {
          // reported below
        }
        throw new IllegalArgumentException(
            "\"" + raw + "\" is not a step (expected ok, hang, close, garbage, stream-error, stream-drop, "
                + "stream-stall, stream-cut or an HTTP status 100-599)");
    }
  }

  private static Step option(Step step, String option, String raw) {
    int eq = option.indexOf('=');
    String name = eq < 0 ? option : option.substring(0, eq);
    String value = eq < 0 ? "" : option.substring(eq + 1);
    switch (name) {
      case "retry-after":
        if (ErrorClassifier.parseRetryAfter(value, Instant.now()).isEmpty()) {
          throw new IllegalArgumentException("\"" + raw + "\": retry-after=" + value + " is not a number of seconds");
        }
        return step.withHeader("retry-after", value);
      case "delay":
        return step.withDelay(ErrorClassifier.parseResetDuration(value).orElseThrow(
            () -> new IllegalArgumentException("\"" + raw + "\": delay=" + value + " is not a duration like 250ms or 2s")));
      case "type":
        return step.withErrorType(value);
      case "text":
        return step.withText(value);
      case "tool":
        return step.withTool(new Tool(value, "{}"));
      case "chunks":
        return step.withStream(new StreamPlan(count(value, raw, name, 1), step.stream().every(), step.stream().fault(),
            step.stream().after(), step.stream().errorType()));
      case "after":
        return step.withStream(new StreamPlan(step.stream().chunks(), step.stream().every(), step.stream().fault(),
            count(value, raw, name, 0), step.stream().errorType()));
      case "every":
        return step.withChunks(step.stream().chunks(), ErrorClassifier.parseResetDuration(value).orElseThrow(
            () -> new IllegalArgumentException("\"" + raw + "\": every=" + value + " is not a duration like 100ms")));
      default:
        throw new IllegalArgumentException("\"" + raw + "\": unknown option \"" + name
            + "\" (expected retry-after, delay, type, text, tool, chunks, every or after)");
    }
  }

  private static int count(String value, String raw, String name, int min) {
    try {
      int n = Integer.parseInt(value);
      if (n >= min && n <= 10_000) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException("\"" + raw + "\": " + name + "=" + value + " is not a count from " + min + " to 10000");
  }

  // ---- serving ---------------------------------------------------------------------------------

  private void handle(HttpExchange exchange) throws IOException {
    String body;
    try (InputStream in = exchange.getRequestBody()) {
      body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    Map<String, String> headers = new HashMap<>();
    exchange.getRequestHeaders().forEach((name, values) -> headers.put(name.toLowerCase(Locale.ROOT), String.join(",", values)));
    String path = exchange.getRequestURI().getPath();
    String auth = headers.getOrDefault("authorization", headers.getOrDefault("x-api-key", ""));
    boolean anthropic = path.endsWith("/messages");
    if (!path.endsWith("/chat/completions") && !anthropic) {
      send(exchange, 404, Map.of(), "{\"error\":{\"message\":\"no such endpoint: " + path + "\",\"type\":\"not_found\"}}");
      return;
    }
    RecordedCall call = new RecordedCall(path, Instant.now(), auth, headers, body);
    java.util.function.Function<RecordedCall, Step> choose = chooser;
    if (choose == null) {
      calls.add(call);
    }
    Step scripted;
    synchronized (script) {
      scripted = script.poll();
    }
    Step step = scripted != null ? scripted : choose == null ? defaultStep : choose.apply(call);
    if (step.delay().isZero() || step.delay().isNegative()) {
      perform(exchange, step, anthropic, body);
    } else {
      scheduler.schedule(() -> perform(exchange, step, anthropic, body), step.delay().toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private void perform(HttpExchange exchange, Step step, boolean anthropic, String requestBody) {
    try {
      switch (step.action()) {
        case HANG -> hung.add(exchange);
        case CLOSE -> exchange.close();
        case RESPOND -> {
          if (step.status() >= 200 && step.status() < 300 && step.body().isEmpty() && wantsStream(requestBody)) {
            new StreamedAnswer(exchange, step, anthropic, requestBody).start();
            return;
          }
          String body = step.body().orElseGet(() -> cannedBody(step, anthropic, requestBody));
          send(exchange, step.status(), step.headers(), body);
        }
      }
    } catch (IOException | RuntimeException e) {
      exchange.close();
    }
  }

  private static void send(HttpExchange exchange, int status, Map<String, String> headers, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("content-type", "application/json");
    headers.forEach((name, value) -> exchange.getResponseHeaders().set(name, value));
    exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  private void releaseHung() {
    List<HttpExchange> held;
    synchronized (hung) {
      held = new ArrayList<>(hung);
      hung.clear();
    }
    held.forEach(HttpExchange::close);
  }

  // ---- canned bodies ---------------------------------------------------------------------------

  private String cannedBody(Step step, boolean anthropic, String requestBody) {
    int status = step.status();
    if (status >= 200 && status < 300) {
      return completion(anthropic, requestBody, step);
    }
    if (status == 502) {
      return "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>"
          + "<hr><center>nginx</center></body></html>";
    }
    if (step.errorType().isPresent()) {
      String type = step.errorType().get();
      return anthropic
          ? "{\"type\":\"error\",\"error\":{\"type\":\"" + type + "\",\"message\":\"fake " + type + "\"}}"
          : "{\"error\":{\"message\":\"fake " + type + "\",\"type\":\"" + type + "\",\"param\":null,\"code\":\"" + type + "\"}}";
    }
    return anthropic ? anthropicError(status) : openAiError(status);
  }

  private static String openAiError(int status) {
    return switch (status) {
      case 400 -> "{\"error\":{\"message\":\"Invalid 'messages': empty array.\",\"type\":\"invalid_request_error\","
          + "\"param\":\"messages\",\"code\":\"empty_array\"}}";
      case 401 -> "{\"error\":{\"message\":\"Incorrect API key provided.\",\"type\":\"invalid_request_error\","
          + "\"param\":null,\"code\":\"invalid_api_key\"}}";
      case 402 -> "{\"error\":{\"code\":402,\"message\":\"insufficient_credits: Insufficient credits. Add more credits to continue.\"}}";
      case 403 -> "{\"error\":{\"message\":\"You are not allowed to use this model.\",\"type\":\"invalid_request_error\","
          + "\"code\":\"model_not_allowed\"}}";
      case 404 -> "{\"error\":{\"message\":\"The model does not exist.\",\"type\":\"invalid_request_error\","
          + "\"code\":\"model_not_found\"}}";
      case 429 -> "{\"error\":{\"message\":\"Rate limit reached for requests per min (RPM). Please try again later.\","
          + "\"type\":\"requests\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}";
      case 500 -> "{\"error\":{\"message\":\"The server had an error while processing your request.\",\"type\":\"server_error\"}}";
      case 503 -> "{\"error\":{\"message\":\"The engine is currently overloaded, please try again later\",\"type\":\"server_error\"}}";
      default -> "{\"error\":{\"message\":\"fake provider error " + status + "\",\"type\":\"server_error\"}}";
    };
  }

  private static String anthropicError(int status) {
    String[] typeAndMessage = switch (status) {
      case 400 -> new String[] {"invalid_request_error", "messages: at least one message is required"};
      case 401 -> new String[] {"authentication_error", "invalid x-api-key"};
      case 402 -> new String[] {"billing_error", "Your credit balance is too low to access the Anthropic API."};
      case 403 -> new String[] {"permission_error", "Your API key does not have permission to use the specified resource."};
      case 404 -> new String[] {"not_found_error", "model: not found"};
      case 429 -> new String[] {"rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"};
      case 500 -> new String[] {"api_error", "Internal server error"};
      case 529 -> new String[] {"overloaded_error", "Overloaded"};
      default -> new String[] {"api_error", "fake provider error " + status};
    };
    return "{\"type\":\"error\",\"error\":{\"type\":\"" + typeAndMessage[0] + "\",\"message\":\"" + typeAndMessage[1] + "\"}}";
  }

  private static JsonNode request(String requestBody) {
    try {
      JsonNode request = JSON.readTree(requestBody);
      return request == null ? JSON.createObjectNode() : request;
    } catch (IOException e) {
      return JSON.createObjectNode();
    }
  }

  private static boolean wantsStream(String requestBody) {
    return request(requestBody).path("stream").asBoolean(false);
  }

  /** The echo text: "Echo: " and the last user message's text (its text parts, for content arrays). */
  private static String answerText(JsonNode request, Optional<String> fixedText) {
    String lastUser = "";
    for (JsonNode m : request.path("messages")) {
      if (m.path("role").asText().equals("user")) {
        JsonNode content = m.path("content");
        if (content.isTextual()) {
          lastUser = content.asText();
        } else {
          StringBuilder text = new StringBuilder();
          for (JsonNode part : content) {
            if (part.path("text").isTextual()) {
              text.append(part.path("text").asText());
            }
          }
          lastUser = text.length() > 0 ? text.toString() : content.toString();
        }
      }
    }
    return fixedText.orElse("Echo: " + lastUser);
  }

  private String completion(boolean anthropic, String requestBody, Step step) {
    JsonNode request = request(requestBody);
    String text = step.tool().isPresent() ? "" : answerText(request, step.text());
    String model = request.path("model").asText("fake-model");
    long inputTokens = tokensOf(requestBody);
    long outputTokens = outputTokens(text);
    long id = ids.incrementAndGet();
    ObjectNode body = JSON.createObjectNode();
    if (anthropic) {
      body.put("id", "msg_fake_" + id).put("type", "message").put("role", "assistant").put("model", model);
      com.fasterxml.jackson.databind.node.ArrayNode content = body.putArray("content");
      if (step.tool().isPresent()) {
        Tool tool = step.tool().get();
        content.addObject().put("type", "tool_use").put("id", "toolu_fake_" + id).put("name", tool.name())
            .set("input", request(tool.arguments()));
      } else {
        content.addObject().put("type", "text").put("text", text);
      }
      body.put("stop_reason", step.tool().isPresent() ? "tool_use" : "end_turn");
      body.putObject("usage").put("input_tokens", inputTokens).put("output_tokens", outputTokens);
    } else {
      body.put("id", "chatcmpl-fake-" + id).put("object", "chat.completion").put("created", Instant.now().getEpochSecond())
          .put("model", model);
      ObjectNode choice = body.putArray("choices").addObject();
      choice.put("index", 0).put("finish_reason", step.tool().isPresent() ? "tool_calls" : "stop");
      ObjectNode message = choice.putObject("message").put("role", "assistant");
      if (step.tool().isPresent()) {
        Tool tool = step.tool().get();
        message.putNull("content");
        ObjectNode call = message.putArray("tool_calls").addObject();
        call.put("id", "call_fake_" + id).put("type", "function");
        call.putObject("function").put("name", tool.name()).put("arguments", tool.arguments());
      } else {
        message.put("content", text);
      }
      body.putObject("usage").put("prompt_tokens", inputTokens).put("completion_tokens", outputTokens)
          .put("total_tokens", inputTokens + outputTokens);
    }
    return body.toString();
  }

  /**
   * The input tokens this fake bills for a request: a quarter of its body's length (for a streamed
   * answer, of the body as re-written compactly), at least 1.
   */
  public static long inputTokens(String requestBody, boolean streamed) {
    return tokensOf(streamed ? request(requestBody).toString() : requestBody);
  }

  private static long tokensOf(String counted) {
    return Math.max(1, counted.length() / 4);
  }

  /** The output tokens this fake bills for an answer's text: a quarter of its length, at least 1. */
  public static long outputTokens(String text) {
    return tokensOf(text);
  }

  /** The text a well-formed answer of {@code step} to {@code requestBody} carries (empty for a tool call). */
  public static String answerText(String requestBody, Step step) {
    return step.tool().isPresent() ? "" : answerText(request(requestBody), step.text());
  }

  /** How many streamed answers the caller stopped reading before their end (a write to it failed). */
  public int streamsCancelledByCaller() {
    return cancelledStreams.get();
  }

  /**
   * One streamed answer, in the call's wire format, written piece by piece on the scheduler (never
   * sleeping on a handler thread), with the step's fault after {@code after} pieces.
   */
  private final class StreamedAnswer {
    private final HttpExchange exchange;
    private final Step step;
    private final boolean anthropic;
    private final List<String> events = new ArrayList<>();
    /** Which of {@link #events} carry a piece of the answer (each waits {@code every} before it goes). */
    private final java.util.Set<Integer> contentEvents = new java.util.HashSet<>();
    private final JsonNode request;
    private final long id = ids.incrementAndGet();
    private OutputStream out;
    private int next;

    StreamedAnswer(HttpExchange exchange, Step step, boolean anthropic, String requestBody) {
      this.exchange = exchange;
      this.step = step;
      this.anthropic = anthropic;
      this.request = request(requestBody);
    }

    void start() throws IOException {
      exchange.getResponseHeaders().set("content-type", "text/event-stream");
      exchange.getResponseHeaders().set("cache-control", "no-cache");
      step.headers().forEach((name, value) -> exchange.getResponseHeaders().set(name, value));
      // a dropped connection: a declared length the body never reaches, so the server cuts it off
      exchange.sendResponseHeaders(step.status(), step.stream().fault() == StreamFault.DROP ? 1 << 20 : 0);
      out = exchange.getResponseBody();
      String text = answerText(request, step.text());
      List<String> pieces = step.tool().isPresent() ? split(step.tool().get().arguments(), 2) : split(text, step.stream().chunks());
      int limit = step.stream().fault() == StreamFault.NONE ? pieces.size() : Math.min(step.stream().after(), pieces.size());
      if (anthropic) {
        anthropicEvents(pieces, limit, text);
      } else {
        openAiEvents(pieces, limit, text);
      }
      writeNext();
    }

    private void openAiEvents(List<String> pieces, int limit, String text) {
      String model = request.path("model").asText("fake-model");
      String head = "{\"id\":\"chatcmpl-fake-" + id + "\",\"object\":\"chat.completion.chunk\",\"created\":"
          + Instant.now().getEpochSecond() + ",\"model\":" + quote(model) + ",\"choices\":[";
      events.add("data: " + head + "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n");
      for (int i = 0; i < limit; i++) {
        String delta = step.tool().isEmpty() ? "{\"content\":" + quote(pieces.get(i)) + "}"
            : "{\"tool_calls\":[{\"index\":0," + (i == 0 ? "\"id\":\"call_fake_" + id + "\",\"type\":\"function\","
                + "\"function\":{\"name\":" + quote(step.tool().get().name()) + ",\"arguments\":" : "\"function\":{\"arguments\":")
                + quote(pieces.get(i)) + "}}]}";
        addContent("data: " + head + "{\"index\":0,\"delta\":" + delta + ",\"finish_reason\":null}]}\n\n");
      }
      if (faulted()) {
        return;
      }
      String finish = step.tool().isPresent() ? "tool_calls" : "stop";
      events.add("data: " + head + "{\"index\":0,\"delta\":{},\"finish_reason\":\"" + finish + "\"}]}\n\n");
      if (request.path("stream_options").path("include_usage").asBoolean(false)) {
        long in = tokensOf(request.toString());
        long outTokens = outputTokens(text);
        events.add("data: " + head + "],\"usage\":{\"prompt_tokens\":" + in + ",\"completion_tokens\":" + outTokens
            + ",\"total_tokens\":" + (in + outTokens) + "}}\n\n");
      }
      if (step.stream().fault() != StreamFault.CUT) {
        events.add("data: [DONE]\n\n");
      }
    }

    private void anthropicEvents(List<String> pieces, int limit, String text) {
      String model = request.path("model").asText("fake-model");
      long in = tokensOf(request.toString());
      events.add(event("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_fake_" + id
          + "\",\"type\":\"message\",\"role\":\"assistant\",\"model\":" + quote(model) + ",\"content\":[],"
          + "\"stop_reason\":null,\"usage\":{\"input_tokens\":" + in + ",\"output_tokens\":1}}}"));
      if (step.tool().isPresent()) {
        events.add(event("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
            + "{\"type\":\"tool_use\",\"id\":\"toolu_fake_" + id + "\",\"name\":" + quote(step.tool().get().name())
            + ",\"input\":{}}}"));
      } else {
        events.add(event("content_block_start",
            "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"));
      }
      events.add(event("ping", "{\"type\":\"ping\"}"));
      for (int i = 0; i < limit; i++) {
        String delta = step.tool().isPresent()
            ? "{\"type\":\"input_json_delta\",\"partial_json\":" + quote(pieces.get(i)) + "}"
            : "{\"type\":\"text_delta\",\"text\":" + quote(pieces.get(i)) + "}";
        addContent(event("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":" + delta + "}"));
      }
      if (faulted()) {
        return;
      }
      events.add(event("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}"));
      events.add(event("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\""
          + (step.tool().isPresent() ? "tool_use" : "end_turn") + "\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":"
          + outputTokens(text) + "}}"));
      if (step.stream().fault() != StreamFault.CUT) {
        events.add(event("message_stop", "{\"type\":\"message_stop\"}"));
      }
    }

    private void addContent(String event) {
      contentEvents.add(events.size());
      events.add(event);
    }

    /** Adds the fault's error event; true when the stream stops here. */
    private boolean faulted() {
      StreamFault fault = step.stream().fault();
      if (fault == StreamFault.ERROR) {
        String type = step.stream().errorType();
        events.add(anthropic
            ? event("error", "{\"type\":\"error\",\"error\":{\"type\":" + quote(type) + ",\"message\":\"fake " + type + "\"}}")
            : "data: {\"error\":{\"message\":\"fake " + type + "\",\"type\":" + quote(type) + ",\"code\":null}}\n\n");
      }
      return fault != StreamFault.NONE && fault != StreamFault.CUT;
    }

    private void writeNext() {
      if (next >= events.size()) {
        end();
        return;
      }
      boolean content = contentEvents.contains(next);
      String event = events.get(next++);
      long wait = step.stream().every().toMillis();
      Runnable write = () -> {
        try {
          out.write(event.getBytes(StandardCharsets.UTF_8));
          out.flush();
          writeNext();
        } catch (IOException | RuntimeException e) {
          cancelledStreams.incrementAndGet();
          exchange.close();
        }
      };
      if (content && wait > 0) {
        scheduler.schedule(write, wait, TimeUnit.MILLISECONDS);
      } else {
        write.run();
      }
    }

    private void end() {
      switch (step.stream().fault()) {
        case STALL -> hung.add(exchange);
        case DROP -> exchange.close();
        default -> {
          try {
            out.close();
          } catch (IOException e) {
            cancelledStreams.incrementAndGet();
          }
          exchange.close();
        }
      }
    }
  }

  private static String event(String name, String data) {
    return "event: " + name + "\ndata: " + data + "\n\n";
  }

  private static String quote(String text) {
    try {
      return JSON.writeValueAsString(text);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** {@code text} in {@code n} pieces of about equal length (fewer when it is shorter). */
  private static List<String> split(String text, int n) {
    List<String> out = new ArrayList<>();
    int count = Math.max(1, Math.min(n, text.length()));
    for (int i = 0; i < count; i++) {
      out.add(text.substring(i * text.length() / count, (i + 1) * text.length() / count));
    }
    return out;
  }

  /** Daemon threads named {@code name-1}, {@code name-2}, ...: what the fakes and the soak that drives them run on. */
  public static java.util.concurrent.ThreadFactory daemon(String name) {
    AtomicLong n = new AtomicLong();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
