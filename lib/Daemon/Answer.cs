using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Daemon;

/// What a control message answers: its lines, and for attach the memfd
/// that rides with them. Null from a handler means the answer comes later.
public sealed record Answer(List<string> Lines, int PassFd = -1);
