from ci_mlops.cli import main

main()
