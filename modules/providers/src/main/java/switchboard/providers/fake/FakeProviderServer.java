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
      Optional<String> errorType, Optional<String> text) {

    public Step {
      headers = Map.copyOf(headers);
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
      return new Step(action, status, headers, body, newDelay, errorType, text);
    }

    public Step withHeader(String name, String value) {
      Map<String, String> more = new LinkedHashMap<>(headers);
      more.put(name.toLowerCase(Locale.ROOT), value);
      return new Step(action, status, more, body, delay, errorType, text);
    }

    public Step withBody(String newBody) {
      return new Step(action, status, headers, Optional.of(newBody), delay, errorType, text);
    }

    public Step withErrorType(String type) {
      return new Step(action, status, headers, body, delay, Optional.of(type), text);
    }

    public Step withText(String newText) {
      return new Step(action, status, headers, body, delay, errorType, Optional.of(newText));
    }
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
  private volatile Step defaultStep = Step.ok();

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
   *   options: retry-after=SECONDS  delay=250ms|2s  type=ERROR_TYPE  text=REPLY_TEXT
   *   e.g.  402,429:retry-after=1,500x3,hang,close,ok:delay=2s
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
            "\"" + raw + "\" is not a step (expected ok, hang, close, garbage or an HTTP status 100-599)");
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
      default:
        throw new IllegalArgumentException(
            "\"" + raw + "\": unknown option \"" + name + "\" (expected retry-after, delay, type or text)");
    }
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
    calls.add(new RecordedCall(path, Instant.now(), auth, headers, body));
    Step step;
    synchronized (script) {
      step = script.isEmpty() ? defaultStep : script.poll();
    }
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
      return completion(anthropic, requestBody, step.text());
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

  private String completion(boolean anthropic, String requestBody, Optional<String> fixedText) {
    JsonNode request;
    try {
      request = JSON.readTree(requestBody);
    } catch (IOException e) {
      request = JSON.createObjectNode();
    }
    String lastUser = "";
    for (JsonNode m : request.path("messages")) {
      if (m.path("role").asText().equals("user")) {
        lastUser = m.path("content").isTextual() ? m.path("content").asText() : m.path("content").toString();
      }
    }
    String text = fixedText.orElse("Echo: " + lastUser);
    String model = request.path("model").asText("fake-model");
    long inputTokens = Math.max(1, requestBody.length() / 4);
    long outputTokens = Math.max(1, text.length() / 4);
    long id = ids.incrementAndGet();
    ObjectNode body = JSON.createObjectNode();
    if (anthropic) {
      body.put("id", "msg_fake_" + id).put("type", "message").put("role", "assistant").put("model", model);
      body.putArray("content").addObject().put("type", "text").put("text", text);
      body.put("stop_reason", "end_turn");
      body.putObject("usage").put("input_tokens", inputTokens).put("output_tokens", outputTokens);
    } else {
      body.put("id", "chatcmpl-fake-" + id).put("object", "chat.completion").put("created", Instant.now().getEpochSecond())
          .put("model", model);
      ObjectNode choice = body.putArray("choices").addObject();
      choice.put("index", 0).put("finish_reason", "stop");
      choice.putObject("message").put("role", "assistant").put("content", text);
      body.putObject("usage").put("prompt_tokens", inputTokens).put("completion_tokens", outputTokens)
          .put("total_tokens", inputTokens + outputTokens);
    }
    return body.toString();
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    AtomicLong n = new AtomicLong();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
