package switchboard.testkit.faults;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.BehaviorInterceptor;
import org.apache.pekko.actor.typed.TypedActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Test-side failure injection: a behaviour wrapped by {@link #wrap} throws when it receives {@link
 * Crash} (a message no production protocol knows), so its supervisor restarts it exactly as it would
 * after a bug. Wrap inside the supervisor: {@code Behaviors.supervise(Crashable.wrap(b))}. As a
 * {@link Function} it is the gateway's behaviour decorator ({@code
 * pekko.switchboard-test.behavior-decorator = "switchboard.testkit.faults.Crashable"}): every actor the
 * gateway supervises is then wrapped, and {@link #crashChild} reaches the ones a test has no reference to.
 */
public final class Crashable implements Function<Behavior<?>, Behavior<?>> {

  /** The message that makes a wrapped actor throw. */
  public enum Crash {
    INSTANCE
  }

  /** The exception a crash throws, so logs say it was deliberate. */
  public static final class Drill extends RuntimeException {
    Drill() {
      super("crash drill (deliberate, test-side)", null, false, false);
    }
  }

  /** Every wrapped actor that has started, by its path (without the address). */
  private static final Map<String, ActorRef<?>> STARTED = new ConcurrentHashMap<>();

  /** {@code behavior}, crashing on {@link Crash}. */
  @SuppressWarnings("unchecked")
  public static <T> Behavior<T> wrap(Behavior<T> behavior) {
    Behavior<Object> crashing = Behaviors.intercept(CrashInterceptor<T>::new, behavior);
    return Behaviors.setup(context -> {
      STARTED.put(context.getSelf().path().toStringWithoutAddress(), context.getSelf());
      return (Behavior<T>) (Behavior<?>) crashing;
    });
  }

  /** Makes {@code actor} (wrapped) throw once. */
  public static void crash(ActorRef<?> actor) {
    actor.unsafeUpcast().tell(Crash.INSTANCE);
  }

  /** Makes the wrapped child {@code name} of {@code parent} throw once. */
  public static void crashChild(ActorRef<?> parent, String name) {
    String path = parent.path().toStringWithoutAddress() + "/" + name;
    ActorRef<?> child = STARTED.get(path);
    if (child == null) {
      throw new AssertionError("no crashable actor at " + path + " (is the decorator configured?)");
    }
    crash(child);
  }

  @Override
  public Behavior<?> apply(Behavior<?> behavior) {
    return wrap(behavior);
  }

  private static final class CrashInterceptor<T> extends BehaviorInterceptor<Object, T> {
    CrashInterceptor() {
      super(Object.class);
    }

    @Override
    @SuppressWarnings("unchecked")
    public Behavior<T> aroundReceive(TypedActorContext<Object> context, Object message, ReceiveTarget<T> target) {
      if (message == Crash.INSTANCE) {
        throw new Drill();
      }
      return target.apply(context, (T) message);
    }
  }
}
