from msinfusion.entrypoints.cli import main

main()
