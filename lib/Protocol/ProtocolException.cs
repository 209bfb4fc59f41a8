namespace Pager.Protocol;

/// A line that is not a well-formed message.
public sealed class ProtocolException(string message) : Exception(message);
