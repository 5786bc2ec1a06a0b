from toysafe.cli.app import main

main()
