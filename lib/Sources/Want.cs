using Pager.Kernel;
using Pager.NineP;
using Pager.Protocol;

namespace Pager.Sources;

/// What a request asks of a source, widened to whole pages: the pages
/// from Off to Need were asked for; those from Need to End are read-ahead
/// the source may supply if it can do so cheaply.
public readonly record struct Want(string Map, long Off, long Need, long End);
