namespace Pager.Protocol;

/// Where a control message may come from.
[Flags]
public enum From { Socket = 1, Fifo = 2, Anywhere = Socket | Fifo }
