using System.Collections.Concurrent;
using System.Text;
using Pager.Kernel;
using Pager.Protocol;

namespace Pager.Client;

/// A failure the toolkit reports to its user: a sentence, no stack.
public class PagerException(string message) : Exception(message);
