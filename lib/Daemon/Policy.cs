using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Daemon;

/// What to do with a fault nobody could answer: after the map's timeout,
/// or on an error reply.
public enum Policy { Wait, Zero, Sigbus }
