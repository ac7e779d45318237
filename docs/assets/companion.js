// On the published site no companion runs: the "Run it" panels show their commands only. `make serve` answers this
// file itself with the companion's address, which turns on the panels' Deploy, Run and Destroy buttons.
window.AWSPATTERNS_COMPANION = null;
