"""Questions about the stay, answered from each property's knowledge file."""
