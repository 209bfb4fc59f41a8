using System.Text;

namespace Pager.Protocol;

/// pagerd's answer to a request was err: the text is pagerd's.
public sealed class PagerdError(string message) : Exception(message);
