package main

// fdHeadroom is what a process needs besides its clients' connections: listeners, the
// publishers' HTTP connections, the timetables' alarms, the runtime's own.
const fdHeadroom = 512
