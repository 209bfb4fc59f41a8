using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Daemon;

/// A control message that cannot be carried out; the text goes back to
/// whoever sent it.
public sealed class CtlException(string message) : Exception(message);
