// PLACEHOLDER main, replaced before landing.
int main() { return 0; }
